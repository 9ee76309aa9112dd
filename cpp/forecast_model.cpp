/* ----------------------------------------------------------------------
   fix forecast: its model mode, see forecast_model.h.

   Parallelism as in the rest of the fix: only rank 0 holds the model and the
   monitor; it pushes its sample and broadcasts the outcome, so every rank
   sees the same decision, and an error known to rank 0 becomes the same
   error->all() on every rank.
------------------------------------------------------------------------- */

#include "forecast_model.h"

#include "comm.h"
#include "error.h"
#include "fix.h"
#include "forecast_bcast.h"
#include "utils.h"

#include <cmath>
#include <cstring>

using namespace LAMMPS_NS;

namespace {

// Restart record of a fix forecast with a model: this header, the monitor state bytes, the
// trailer. Stored in native byte order, like the rest of a LAMMPS restart file.
constexpr char RESTART_MAGIC[8] = {'S', 'F', 'F', 'O', 'R', 'E', 'C', 'A'};
// Layout 1: header + monitor state. Layout 2 (keyword nonfinite) appends RestartTrailer; a
// layout-1 record is still read (its fix stopped LAMMPS on a non-finite sample, so it has none).
constexpr uint32_t RESTART_LAYOUT = 2;

struct RestartHeader {
  char magic[8];
  uint32_t layout;        // RESTART_LAYOUT
  uint32_t event_size;    // sizeof(sf_event) of the writer
  uint64_t total;         // bytes of header + monitor state
  int64_t nevery;         // N of the writer: frames only line up with the same N
  int64_t last_step;
  int32_t stop_reason;
  int32_t state;
  uint64_t frames;
  uint64_t monitor_len;
  sf_event last_screen;
  sf_event last_forecast;
  sf_event last_event;
};

struct RestartTrailer {
  int64_t nonfinite_step;
};

}    // namespace

/* ---------------------------------------------------------------------- */

ForecastModel::ForecastModel(LAMMPS *lmp, Fix *fix, const std::string &file) :
    Pointers(lmp), owner(fix), path(file), model(nullptr), monitor(nullptr),
    tolerance_in_force(std::nan(""))
{
}

ForecastModel::~ForecastModel()
{
  sf_monitor_free(monitor);
  sf_model_free(model);
}

/* ---------------------------------------------------------------------- */

void ForecastModel::load(bool check_spacing, double tolerance, bool keep_own_if_refused)
{
  const int me = comm->me;
  int ok = 1;
  std::string why;
  uint64_t frame_spacing = 0, max_window = 0;
  if (me == 0) {
    model = sf_model_load(path.c_str());
    if (!model) {
      ok = 0;
      why = sf_last_error();
    } else if (sf_model_frame_spacing(model, &frame_spacing) != SF_OK ||
               sf_model_max_window(model, &max_window) != SF_OK) {
      ok = 0;
      why = sf_last_error();
    } else if (!(monitor = sf_monitor_new(model))) {
      ok = 0;
      why = sf_last_error();
    }
  }
  if (forecast_bcast::failed(ok, why, me, world)) {
    // the library's messages name the file already; do not repeat it
    if (why.find(path) != std::string::npos)
      error->all(FLERR, "Fix forecast {} cannot load its model: {}", owner->id, why);
    error->all(FLERR, "Fix forecast {} cannot load model file '{}': {}", owner->id, path, why);
  }
  MPI_Bcast(&frame_spacing, 1, MPI_UINT64_T, 0, world);

  const auto nevery = static_cast<uint64_t>(owner->nevery);
  if (check_spacing && frame_spacing != nevery)
    error->all(FLERR,
               "Fix forecast {}: N = {} steps per frame, but model '{}' was trained on frames "
               "{} steps apart. Set N to {} (and keep the timestep of the training runs), or "
               "add 'check no' if frames of {} steps here are equivalent to the training frames",
               owner->id, nevery, path, frame_spacing, frame_spacing, nevery);

  // The tolerance is the monitor's (rank 0); every rank learns the one in force, so that the
  // global vector is the same everywhere.
  double low = std::nan(""), high = std::nan("");
  if (me == 0) {
    // a refused tolerance leaves the monitor as it was
    if (!std::isnan(tolerance) && sf_monitor_set_tolerance(monitor, tolerance) != SF_OK &&
        !keep_own_if_refused) {
      ok = 0;
      why = sf_last_error();
    } else if (sf_monitor_tolerance(monitor, &tolerance_in_force) != SF_OK) {
      ok = 0;
      why = sf_last_error();
    }
    if (!ok) sf_model_tolerance(model, nullptr, &low, &high);
  }
  if (forecast_bcast::failed(ok, why, me, world)) {
    MPI_Bcast(&low, 1, MPI_DOUBLE, 0, world);
    MPI_Bcast(&high, 1, MPI_DOUBLE, 0, world);
    if (std::isnan(low))
      error->all(FLERR, "Fix forecast {}: tolerance {} refused by model '{}': {}", owner->id,
                 tolerance, path, why);
    error->all(FLERR,
               "Fix forecast {}: tolerance {} refused by model '{}': {}. Give a relative "
               "half-width from {} to {} (0.25 = mu within +-25 % at 90 %), or leave the keyword "
               "out for the model's own",
               owner->id, tolerance, path, why, low, high);
  }
  MPI_Bcast(&tolerance_in_force, 1, MPI_DOUBLE, 0, world);
}

/* ---------------------------------------------------------------------- */

std::string ForecastModel::describe() const
{
  const char *card = model ? sf_model_describe(model) : nullptr;
  return card ? card : "(no description)";
}

/* ---------------------------------------------------------------------- */

ForecastModel::Outcome ForecastModel::push(double value, std::string &why)
{
  Outcome out;
  memset(&out, 0, sizeof(out));
  if (comm->me == 0) {
    out.value = value;
    out.status = sf_monitor_push(monitor, value, &out.event);
    if (out.status != SF_OK) {
      why = sf_last_error();
    } else if (sf_monitor_state(monitor, &out.state) != SF_OK ||
               sf_monitor_frames(monitor, &out.frames) != SF_OK) {
      out.status = SF_ERR_STATE;
      why = sf_last_error();
    }
  }
  MPI_Bcast(&out, sizeof(out), MPI_BYTE, 0, world);
  // the library refuses a non-finite sample and leaves the monitor unchanged
  if (out.status != SF_OK && out.status != SF_ERR_NON_FINITE)
    why = forecast_bcast::text(why, comm->me, world);
  return out;
}

/* ---------------------------------------------------------------------- */

bool ForecastModel::is_record(const char *buf)
{
  return memcmp(buf, RESTART_MAGIC, sizeof(RESTART_MAGIC)) == 0;
}

/* ----------------------------------------------------------------------
   the restart record: header (with the fix's record), monitor state, trailer
------------------------------------------------------------------------- */

std::vector<char> ForecastModel::pack(const Record &record)
{
  std::vector<char> blob;
  int ok = 1;
  std::string why;
  if (comm->me == 0) {
    size_t len = 0;
    int status = sf_monitor_save_state(monitor, nullptr, 0, &len);
    if (status == SF_OK || status == SF_ERR_BUFFER) {
      RestartHeader h;
      memset(&h, 0, sizeof(h));
      memcpy(h.magic, RESTART_MAGIC, sizeof(h.magic));
      h.layout = RESTART_LAYOUT;
      h.event_size = sizeof(sf_event);
      h.total = sizeof(h) + len + sizeof(RestartTrailer);
      h.nevery = owner->nevery;
      h.last_step = record.last_step;
      h.stop_reason = record.stop_reason;
      h.state = record.state;
      h.frames = record.frames;
      h.monitor_len = len;
      h.last_screen = record.last_screen;
      h.last_forecast = record.last_forecast;
      h.last_event = record.last_event;
      const RestartTrailer t{record.nonfinite_step};
      blob.resize(h.total);
      memcpy(blob.data(), &h, sizeof(h));
      memcpy(blob.data() + sizeof(h) + len, &t, sizeof(t));
      size_t written = 0;
      status = sf_monitor_save_state(monitor, reinterpret_cast<uint8_t *>(blob.data()) + sizeof(h),
                                     len, &written);
      if (status != SF_OK || written != len) ok = 0;
    } else {
      ok = 0;
    }
    if (!ok) why = sf_last_error();
  }
  if (forecast_bcast::failed(ok, why, comm->me, world))
    error->all(FLERR, "Fix forecast {} cannot save its monitor state to the restart file: {}",
               owner->id, why);
  return blob;
}

ForecastModel::Record ForecastModel::restore(const char *buf)
{
  RestartHeader h;
  memcpy(&h, buf, sizeof(h));
  const size_t trailer = (h.layout >= 2) ? sizeof(RestartTrailer) : 0;
  if (h.layout < 1 || h.layout > RESTART_LAYOUT || h.event_size != sizeof(sf_event) ||
      h.total != sizeof(h) + h.monitor_len + trailer)
    error->all(FLERR,
               "Fix forecast {}: the restart record was written by an incompatible fix forecast "
               "(layout {}, event size {}; this build reads layouts 1 to {}, event size {})",
               owner->id, h.layout, h.event_size, RESTART_LAYOUT, sizeof(sf_event));
  if (h.nevery != owner->nevery)
    error->all(FLERR,
               "Fix forecast {}: N = {} but the restart file was written with N = {}: the frames "
               "would not continue the trace. Use N = {}",
               owner->id, owner->nevery, h.nevery, h.nevery);

  int ok = 1;
  std::string why;
  if (comm->me == 0) {
    const auto *state_bytes = reinterpret_cast<const uint8_t *>(buf + sizeof(h));
    if (sf_monitor_load_state(monitor, state_bytes, h.monitor_len) != SF_OK) {
      ok = 0;
      why = sf_last_error();
    }
  }
  if (forecast_bcast::failed(ok, why, comm->me, world))
    error->all(FLERR,
               "Fix forecast {} cannot restore the monitor state from the restart file with "
               "model '{}': {}. Use the model file the run was started with",
               owner->id, path, why);

  Record r;
  r.last_step = h.last_step;
  r.nonfinite_step = -1;
  r.stop_reason = h.stop_reason;
  r.state = h.state;
  r.frames = h.frames;
  r.last_screen = h.last_screen;
  r.last_forecast = h.last_forecast;
  r.last_event = h.last_event;
  if (trailer) {
    RestartTrailer t;
    memcpy(&t, buf + sizeof(h) + h.monitor_len, sizeof(t));
    r.nonfinite_step = t.nonfinite_step;
  }
  return r;
}
