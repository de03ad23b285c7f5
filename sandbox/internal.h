/* internal.h - what the sandbox's own files share; not part of the API. */
#ifndef PLAIT_SANDBOX_INTERNAL_H
#define PLAIT_SANDBOX_INTERNAL_H

#include "sandbox/sandbox.h"

/* Install the sandbox's seccomp filter on the calling thread (after
 * no_new_privs).  Returns 0 or an errno value; async-signal-safe. */
int sbx_seccomp_install(void);

#endif /* PLAIT_SANDBOX_INTERNAL_H */
