/* rand.h - private: the weights of eng_model_random, one formula shared by
 * every backend (C and CUDA), so that a seed gives the same model on the
 * CPU and on the GPU.
 *
 * Element i (row-major, as the checkpoint would store it) of tensor `tag`
 * is a counter-based hash of (seed, tag, i) mapped to a uniform number in
 * [-1, 1), times the tensor's scale: matrices get variance 1/K (K their
 * columns), the embedding 1, norm weights 1 + 0.1 u, the gate bias 0.5 u.
 * Matrices are then rounded to bf16 (nearest even), as a bf16 checkpoint
 * stores them; vectors stay fp32. */
#ifndef PLAIT_ENGINE_RAND_H
#define PLAIT_ENGINE_RAND_H

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define ENG__RAND_FN static inline __host__ __device__
#else
#define ENG__RAND_FN static inline
#endif

/* Tensors of a layer: tag = ENG__RT_LAYER * (layer + 1) + kind. */
enum {
	ENG__RT_EMBED = 1,
	ENG__RT_NORM = 2,
	ENG__RT_LM_HEAD = 3,
	ENG__RT_LAYER = 16,
	ENG__RT_LN1 = 0,
	ENG__RT_LN2 = 1,
	ENG__RT_Q = 2,
	ENG__RT_K = 3,
	ENG__RT_V = 4,
	ENG__RT_O = 5,
	ENG__RT_GATE = 6,
	ENG__RT_UP = 7,
	ENG__RT_DOWN = 8,
	ENG__RT_GATE_W = 9,
	ENG__RT_GATE_B = 10,
	ENG__RT_GATE_NORM = 11,
};

ENG__RAND_FN uint64_t eng__rand_mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [-1, 1), a multiple of 2^-23. */
ENG__RAND_FN float eng__rand_uniform(uint64_t seed, uint64_t tag, uint64_t i)
{
	uint64_t h = eng__rand_mix(seed ^ eng__rand_mix(tag * 0x100000001b3ull ^ eng__rand_mix(i)));

	return (float)(int32_t)(uint32_t)(h >> 40 << 8) * (1.0f / 2147483648.0f);
}

/* fp32 to bf16 bits, round to nearest even (no NaN in these inputs). */
ENG__RAND_FN uint16_t eng__rand_bf16(float f)
{
	union {
		float f;
		uint32_t u;
	} v;

	v.f = f;
	v.u += 0x7fffu + ((v.u >> 16) & 1u);
	return (uint16_t)(v.u >> 16);
}

/* Element i of tensor tag: a matrix of K columns (K > 0), or a vector
 * (K = 0) of the given kind. */
ENG__RAND_FN float eng__rand_weight(uint64_t seed, uint64_t tag, uint64_t i, int64_t K)
{
	float u = eng__rand_uniform(seed, tag, i);
	uint64_t kind = tag >= ENG__RT_LAYER ? tag % ENG__RT_LAYER : 99;

	if (tag == ENG__RT_EMBED)
		return u;
	if (tag == ENG__RT_NORM || kind == ENG__RT_LN1 || kind == ENG__RT_LN2 || kind == ENG__RT_GATE_NORM)
		return 1.0f + 0.1f * u;
	if (kind == ENG__RT_GATE_B)
		return 0.5f * u;
	/* variance 1/K: uniform on [-sqrt(3/K), sqrt(3/K)) */
	return u * 1.7320508f * (1.0f / sqrtf((float)K));
}

#endif
