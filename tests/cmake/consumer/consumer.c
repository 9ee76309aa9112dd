/* Links simforecast::simforecast from a plain C program: the ABI version matches the
   header, and a failing call reports its error through sf_last_error(). */
#include <stdio.h>
#include <string.h>

#include "simforecast.h"

int main(void)
{
  if (sf_abi_version() != SF_ABI_VERSION) {
    fprintf(stderr, "ABI mismatch: library %d, header %d\n", sf_abi_version(), SF_ABI_VERSION);
    return 1;
  }
  const char *version = sf_version();
  if (!version || !*version) {
    fprintf(stderr, "empty sf_version()\n");
    return 1;
  }
  sf_model *model = sf_model_load("/nonexistent/simforecast/model.sfm");
  if (model) {
    fprintf(stderr, "loading a missing model file succeeded\n");
    sf_model_free(model);
    return 1;
  }
  const char *err = sf_last_error();
  if (!err || !strstr(err, "/nonexistent/simforecast/model.sfm")) {
    fprintf(stderr, "the error does not name the file: '%s'\n", err ? err : "(null)");
    return 1;
  }
  printf("simforecast %s (ABI %d): missing model -> %s\n", version, sf_abi_version(), err);
  return 0;
}
