/* safetensors.h - private: a checkpoint's tensors, mapped and validated
 * (safetensors.c); the core finds them, a backend uploads them. */
#ifndef PLAIT_ENGINE_SAFETENSORS_H
#define PLAIT_ENGINE_SAFETENSORS_H

#include "common/common.h"

typedef enum eng__st_dtype { ENG__ST_F32 = 0, ENG__ST_F16 = 1, ENG__ST_BF16 = 2 } eng__st_dtype;

typedef struct eng__st_tensor {
	char *name;
	eng__st_dtype dtype;
	int ndim;
	int64_t shape[8];
	uint64_t numel;
	const uint8_t *data; /* inside the file's map */
	uint64_t nbytes;
	int file; /* index into eng__st_set.files */
} eng__st_tensor;

/* Every tensor of one checkpoint (one or several files), name-sorted. */
typedef struct eng__st_set {
	pl_map *maps;
	char **files; /* file names, for messages */
	size_t n_files;
	eng__st_tensor *t;
	size_t n;
} eng__st_set;

/* Open and validate one file, appending its tensors to set. */
int eng__st_set_add_file(eng__st_set *set, const char *path, const char *display, pl_err *err);
/* Load model.safetensors, or the shards listed by model.safetensors.index.json. */
int eng__st_set_open_dir(eng__st_set *set, const char *dir, pl_err *err);
void eng__st_set_release(eng__st_set *set);
const eng__st_tensor *eng__st_set_find(const eng__st_set *set, const char *name);
/* Elements first..first+count-1 of t converted to fp32 into dst. */
void eng__st_to_f32(float *dst, const eng__st_tensor *t, uint64_t first, uint64_t count);

#endif
