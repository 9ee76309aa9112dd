/* -*- c++ -*- ----------------------------------------------------------
   fix forecast: a text known to rank 0 only (an error of the library, which
   lives there) broadcast to every rank, so that all ranks raise the same
   error->all() and none waits alone.
------------------------------------------------------------------------- */

#ifndef LMP_FORECAST_BCAST_H
#define LMP_FORECAST_BCAST_H

#include <mpi.h>

#include <string>

namespace LAMMPS_NS {
namespace forecast_bcast {

  inline std::string text(const std::string &text, int me, MPI_Comm world)
  {
    int n = (me == 0) ? static_cast<int>(text.size()) : 0;
    MPI_Bcast(&n, 1, MPI_INT, 0, world);
    std::string out(n, '\0');
    if (me == 0) out = text;
    if (n > 0) MPI_Bcast(&out[0], n, MPI_CHAR, 0, world);
    return out;
  }

  // Whether rank 0 failed (`ok` is rank 0's verdict), on every rank; when it did, `why` holds
  // rank 0's message on every rank, so all raise the same error->all().
  inline bool failed(int ok, std::string &why, int me, MPI_Comm world)
  {
    MPI_Bcast(&ok, 1, MPI_INT, 0, world);
    if (!ok) why = text(why, me, world);
    return !ok;
  }

}    // namespace forecast_bcast
}    // namespace LAMMPS_NS

#endif
