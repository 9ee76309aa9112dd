/* ----------------------------------------------------------------------
   fix forecast: its model-free mode, see forecast_convergence.h.

   Parallelism as in the rest of the fix: only rank 0 holds the estimator;
   it pushes its sample, checks when due and broadcasts the outcome, so every
   rank sees the same decision, and an error known to rank 0 becomes the same
   error->all() on every rank.
------------------------------------------------------------------------- */

#include "forecast_convergence.h"

#include "comm.h"
#include "error.h"
#include "fix.h"
#include "forecast_bcast.h"
#include "utils.h"

#include <cstring>

using namespace LAMMPS_NS;

namespace {

// Restart record of a fix forecast in convergence mode: this header, then the estimator's
// state. Native byte order, like the rest of a LAMMPS restart file. Its magic differs from the
// model mode's, so neither mode takes the other's record for its own.
constexpr char CONVERGENCE_MAGIC[8] = {'S', 'F', 'F', 'O', 'R', 'C', 'N', 'V'};
constexpr uint32_t CONVERGENCE_LAYOUT = 1;

struct ConvergenceHeader {
  char magic[8];
  uint32_t layout;         // CONVERGENCE_LAYOUT
  uint32_t result_size;    // sizeof(sf_convergence_result) of the writer
  uint64_t total;          // bytes of header + estimator state
  int64_t nevery;          // N of the writer: frames only line up with the same N
  uint64_t state_len;
  ForecastConvergence::Record record;
};

const char *const KEYWORDS[] = {"every", "min", "tolerance", "drift"};

}    // namespace

/* ---------------------------------------------------------------------- */

ForecastConvergence::ForecastConvergence(LAMMPS *lmp, Fix *fix) :
    Pointers(lmp), owner(fix), params(sf_convergence_params_default()), every(50), conv(nullptr)
{
}

ForecastConvergence::~ForecastConvergence()
{
  sf_convergence_free(conv);
}

/* ---------------------------------------------------------------------- */

bool ForecastConvergence::is_keyword(const std::string &key)
{
  for (const char *k : KEYWORDS)
    if (key == k) return true;
  return false;
}

/* ----------------------------------------------------------------------
   every N (frames between checks, > 0), min M (frames, >= 0), tolerance t
   and drift d (checked by the library in create(), which names the domain)
------------------------------------------------------------------------- */

void ForecastConvergence::keyword(const std::string &key, const std::string &val)
{
  if (key == "every") {
    every = utils::bnumeric(FLERR, val, false, lmp);
    if (every <= 0)
      error->all(FLERR,
                 "Illegal fix forecast every {}: expected a positive number of frames between "
                 "checks",
                 val);
  } else if (key == "min") {
    const bigint min = utils::bnumeric(FLERR, val, false, lmp);
    if (min < 0)
      error->all(FLERR,
                 "Illegal fix forecast min {}: expected 0 or more frames before the first "
                 "check",
                 val);
    params.min_frames = static_cast<uint64_t>(min);
  } else if (key == "tolerance") {
    params.tolerance = utils::numeric(FLERR, val, false, lmp);
  } else if (key == "drift") {
    params.drift_tolerance = utils::numeric(FLERR, val, false, lmp);
  }
}

/* ---------------------------------------------------------------------- */

void ForecastConvergence::create()
{
  int ok = 1;
  std::string why;
  if (comm->me == 0) {
    conv = sf_convergence_new(&params);
    if (!conv) {
      ok = 0;
      why = sf_last_error();
    }
  }
  if (forecast_bcast::failed(ok, why, comm->me, world))
    error->all(FLERR, "Illegal fix forecast {} convergence settings ({}): {}", owner->id,
               settings(), why);
}

/* ---------------------------------------------------------------------- */

ForecastConvergence::Outcome ForecastConvergence::push(double value, bool watching,
                                                       std::string &why)
{
  Outcome out;
  memset(&out, 0, sizeof(out));
  if (comm->me == 0) {
    out.value = value;
    out.status = sf_convergence_push(conv, value);
    if (out.status == SF_OK) out.status = sf_convergence_frames(conv, &out.frames);
    // Checks fall on the multiples of 'every' (as in `simforecast convergence --every`), from
    // 'min' frames on, until one has converged.
    if (out.status == SF_OK && watching && out.frames % every == 0 &&
        out.frames >= params.min_frames) {
      out.checked = 1;
      out.status = sf_convergence_check(conv, &out.result);
    }
    if (out.status != SF_OK) why = sf_last_error();
  }
  MPI_Bcast(&out, sizeof(out), MPI_BYTE, 0, world);
  if (out.status != SF_OK && out.status != SF_ERR_NON_FINITE)
    why = forecast_bcast::text(why, comm->me, world);
  return out;
}

/* ---------------------------------------------------------------------- */

std::string ForecastConvergence::settings() const
{
  return fmt::format("every {}, min {}, tolerance {}, drift {}, level {}", every,
                     params.min_frames, params.tolerance, params.drift_tolerance, params.level);
}

/* ---------------------------------------------------------------------- */

bool ForecastConvergence::is_record(const char *buf)
{
  return memcmp(buf, CONVERGENCE_MAGIC, sizeof(CONVERGENCE_MAGIC)) == 0;
}

/* ----------------------------------------------------------------------
   the restart record: header (with the fix's record) + estimator state
------------------------------------------------------------------------- */

std::vector<char> ForecastConvergence::pack(const Record &record)
{
  std::vector<char> blob;
  int ok = 1;
  std::string why;
  if (comm->me == 0) {
    size_t len = 0;
    int status = sf_convergence_save_state(conv, nullptr, 0, &len);
    if (status == SF_OK) {
      ConvergenceHeader h;
      memset(&h, 0, sizeof(h));
      memcpy(h.magic, CONVERGENCE_MAGIC, sizeof(h.magic));
      h.layout = CONVERGENCE_LAYOUT;
      h.result_size = sizeof(sf_convergence_result);
      h.total = sizeof(h) + len;
      h.nevery = owner->nevery;
      h.state_len = len;
      h.record = record;
      blob.resize(h.total);
      memcpy(blob.data(), &h, sizeof(h));
      size_t written = 0;
      status = sf_convergence_save_state(
          conv, reinterpret_cast<uint8_t *>(blob.data()) + sizeof(h), len, &written);
      if (status != SF_OK || written != len) ok = 0;
    } else {
      ok = 0;
    }
    if (!ok) why = sf_last_error();
  }
  if (forecast_bcast::failed(ok, why, comm->me, world))
    error->all(FLERR,
               "Fix forecast {} cannot save its convergence estimator to the restart file: {}",
               owner->id, why);
  return blob;
}

ForecastConvergence::Record ForecastConvergence::restore(const char *buf)
{
  ConvergenceHeader h;
  memcpy(&h, buf, sizeof(h));
  if (h.layout != CONVERGENCE_LAYOUT || h.result_size != sizeof(sf_convergence_result) ||
      h.total != sizeof(h) + h.state_len)
    error->all(FLERR,
               "Fix forecast {}: the restart record was written by an incompatible fix forecast "
               "(convergence layout {}, result size {}; this build reads layout {}, result size "
               "{})",
               owner->id, h.layout, h.result_size, CONVERGENCE_LAYOUT,
               sizeof(sf_convergence_result));
  if (h.nevery != owner->nevery)
    error->all(FLERR,
               "Fix forecast {}: N = {} but the restart file was written with N = {}: the frames "
               "would not continue the trace. Use N = {}",
               owner->id, owner->nevery, h.nevery, h.nevery);

  int ok = 1;
  std::string why;
  if (comm->me == 0) {
    const auto *state = reinterpret_cast<const uint8_t *>(buf + sizeof(h));
    if (sf_convergence_load_state(conv, state, h.state_len) != SF_OK) {
      ok = 0;
      why = sf_last_error();
    }
  }
  if (forecast_bcast::failed(ok, why, comm->me, world))
    error->all(FLERR,
               "Fix forecast {} cannot restore its convergence estimator from the restart file: "
               "{}",
               owner->id, why);
  return h.record;
}
