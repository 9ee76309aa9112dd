// A shared object that uses the library, like a LAMMPS plugin: only `consumer_entry`
// may appear in its dynamic symbol table.
#include "simforecast.h"

extern "C" __attribute__((visibility("default"))) int consumer_entry()
{
  return sf_abi_version();
}
