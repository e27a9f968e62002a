/* pfrt/pfrt_nccl.h compiled as C (C99, the language of pfrt.h's users): its types and functions
 * are usable from C. The host tests call this and check what it reports. */
#include "pfrt/pfrt_nccl.h"

int pfrt_nccl_c_id_bytes(void); /* called from test_nccl_host.cpp */

int pfrt_nccl_c_id_bytes(void) {
  pfrt_nccl_id id;
  pfrt_shard_transport t;
  /* The functions are declared with C linkage: a C program can take their addresses. */
  pfrt_status (*create)(const pfrt_nccl_id*, int32_t, int32_t, int32_t, uint32_t, pfrt_shard_transport*) =
      &pfrt_nccl_transport_create;
  pfrt_status (*make_id)(pfrt_nccl_id*) = &pfrt_nccl_get_unique_id;
  const char* (*last_error)(void) = &pfrt_nccl_last_error;
  (void)t;
  return create != 0 && make_id != 0 && last_error != 0 ? (int)sizeof id.bytes : -1;
}
