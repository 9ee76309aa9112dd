/* ----------------------------------------------------------------------
   fix forecast: see fix_forecast.h and doc/fix_forecast.rst.

   Conventions follow LAMMPS' fix halt: a run is stopped through the timer,
   so the following input commands still run, and what a non-finite sample
   does is a keyword (nonfinite, like fix halt's error). The input is read as
   fix ave/time reads it (forecast_input.cpp); the text of the decisions is
   composed in forecast_report.cpp.

   Parallelism: every rank evaluates the input (computes are collective), but
   only rank 0 holds the model and the monitor. Rank 0 pushes its sample and
   broadcasts the outcome; every rank then acts on the same outcome, so the
   decision, the timer and the global vector are identical everywhere, and an
   error known to rank 0 becomes the same error->all() on every rank.
------------------------------------------------------------------------- */

#include "fix_forecast.h"

#include "comm.h"
#include "error.h"
#include "modify.h"
#include "timer.h"
#include "update.h"
#include "utils.h"

#include <cmath>
#include <cstdint>
#include <cstring>

using namespace LAMMPS_NS;
using namespace FixConst;

namespace {

// Restart record of one fix forecast: this header, the monitor state bytes, the trailer.
// Stored in native byte order, like the rest of a LAMMPS restart file.
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

// Broadcast a string from rank 0 (error texts known only there).
std::string bcast_string(const std::string &text, int me, MPI_Comm world)
{
  int n = (me == 0) ? static_cast<int>(text.size()) : 0;
  MPI_Bcast(&n, 1, MPI_INT, 0, world);
  std::string out(n, '\0');
  if (me == 0) out = text;
  if (n > 0) MPI_Bcast(&out[0], n, MPI_CHAR, 0, world);
  return out;
}

}    // namespace

/* ---------------------------------------------------------------------- */

FixForecast::FixForecast(LAMMPS *lmp, int narg, char **arg) :
    Fix(lmp, narg, arg), action(HALT), after(CONTINUE), nonfinite(NONFINITE_ERROR), message_flag(1),
    check_flag(1), fp(nullptr), model(nullptr), monitor(nullptr), frame_spacing(0), max_window(0),
    state(SF_STATE_COLLECTING), frames(0), last_screen(), last_forecast(), last_event(),
    last_step(-1), stop_reason(NOT_STOPPED), timeout_forced(false), nonfinite_step(-1)
{
  if (narg < 6)
    error->all(FLERR,
               "Illegal fix forecast command: expected 'fix ID group-ID forecast N input "
               "model-file [keyword value ...]', got {} argument(s)",
               narg);

  nevery = utils::inumeric(FLERR, arg[3], false, lmp);
  if (nevery <= 0)
    error->all(FLERR, "Illegal fix forecast N = {}: N (steps between samples) must be positive",
               nevery);
  trace_input = std::make_unique<ForecastInput>(lmp, this, arg[4]);
  model_path = arg[5];

  int iarg = 6;
  while (iarg < narg) {
    const std::string key = arg[iarg];
    if (iarg + 2 > narg)
      error->all(FLERR, "Illegal fix forecast command: keyword '{}' needs a value", key);
    const std::string val = arg[iarg + 1];
    if (key == "action") {
      if (val == "halt")
        action = HALT;
      else if (val == "advise")
        action = ADVISE;
      else
        error->all(FLERR, "Illegal fix forecast action '{}': expected halt or advise", val);
    } else if (key == "after") {
      if (val == "continue")
        after = CONTINUE;
      else if (val == "stop")
        after = STOP;
      else
        error->all(FLERR, "Illegal fix forecast after '{}': expected continue or stop", val);
    } else if (key == "nonfinite") {
      if (val == "error")
        nonfinite = NONFINITE_ERROR;
      else if (val == "stop")
        nonfinite = NONFINITE_STOP;
      else if (val == "continue")
        nonfinite = NONFINITE_CONTINUE;
      else
        error->all(FLERR, "Illegal fix forecast nonfinite '{}': expected error, stop or continue",
                   val);
    } else if (key == "file") {
      file_path = val;
    } else if (key == "message") {
      message_flag = utils::logical(FLERR, val, false, lmp);
    } else if (key == "check") {
      check_flag = utils::logical(FLERR, val, false, lmp);
    } else {
      error->all(FLERR,
                 "Illegal fix forecast keyword '{}': expected action, after, nonfinite, file, "
                 "message or check",
                 key);
    }
    iarg += 2;
  }

  vector_flag = 1;
  size_vector = NVECTOR;
  extvector = 0;
  global_freq = nevery;
  restart_global = 1;
  dynamic_group_allow = 1;

  // Catch a typo in the input at the fix command, not at the first run.
  trace_input->resolve(false);

  // The plugin carries its own copy of the library, so this only fails when the fix
  // was compiled against a header from another simforecast version.
  if (sf_abi_version() != SF_ABI_VERSION)
    error->all(FLERR, "Fix forecast was compiled for simforecast C ABI {} but runs with ABI {}",
               SF_ABI_VERSION, sf_abi_version());

  // Load the model on rank 0 only; every rank learns the outcome.
  const int me = comm->me;
  int ok = 1;
  std::string why;
  if (me == 0) {
    model = sf_model_load(model_path.c_str());
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
  MPI_Bcast(&ok, 1, MPI_INT, 0, world);
  if (!ok) {
    why = bcast_string(why, me, world);
    release();
    // the library's messages name the file already; do not repeat it
    if (why.find(model_path) != std::string::npos)
      error->all(FLERR, "Fix forecast {} cannot load its model: {}", id, why);
    error->all(FLERR, "Fix forecast {} cannot load model file '{}': {}", id, model_path, why);
  }
  MPI_Bcast(&frame_spacing, 1, MPI_UINT64_T, 0, world);
  MPI_Bcast(&max_window, 1, MPI_UINT64_T, 0, world);

  if (check_flag && frame_spacing != static_cast<uint64_t>(nevery)) {
    release();
    error->all(FLERR,
               "Fix forecast {}: N = {} steps per frame, but model '{}' was trained on frames "
               "{} steps apart. Set N to {} (and keep the timestep of the training runs), or "
               "add 'check no' if frames of {} steps here are equivalent to the training frames",
               id, nevery, model_path, frame_spacing, frame_spacing, nevery);
  }

  if (!file_path.empty()) {
    ok = 1;
    if (me == 0) {
      fp = fopen(file_path.c_str(), "a");
      if (!fp) {
        ok = 0;
        why = utils::getsyserror();
      }
    }
    MPI_Bcast(&ok, 1, MPI_INT, 0, world);
    if (!ok) {
      why = bcast_string(why, me, world);
      release();
      error->all(FLERR, "Fix forecast {} cannot open file '{}': {}", id, file_path, why);
    }
    if (me == 0) {
      fmt::print(fp,
                 "# fix forecast {}: model {}, N {}, input {}, action {}, after {}, nonfinite {}, "
                 "defined at step {}\n{}\n",
                 id, model_path, nevery, trace_input->text(),
                 action == HALT ? "halt" : "advise", after == STOP ? "stop" : "continue",
                 nonfinite_setting(),
                 update->ntimestep, forecast_report::file_header());
      fflush(fp);
    }
  }

  if (me == 0) {
    const char *card = sf_model_describe(model);
    utils::logmesg(lmp, "fix forecast {}: model '{}' (simforecast {}): {}\n", id, model_path,
                   sf_version(), card ? card : "(no description)");
  }
}

/* ---------------------------------------------------------------------- */

FixForecast::~FixForecast()
{
  release();
}

/* ----------------------------------------------------------------------
   free the model, monitor and decision file (rank 0 holds them)
------------------------------------------------------------------------- */

void FixForecast::release()
{
  sf_monitor_free(monitor);
  monitor = nullptr;
  sf_model_free(model);
  model = nullptr;
  if (fp) fclose(fp);
  fp = nullptr;
}

/* ---------------------------------------------------------------------- */

int FixForecast::setmask()
{
  int mask = 0;
  mask |= END_OF_STEP;
  mask |= POST_RUN;
  return mask;
}

/* ---------------------------------------------------------------------- */

void FixForecast::init()
{
  // IDs may have been redefined since the fix command
  trace_input->resolve(true);
}

/* ---------------------------------------------------------------------- */

void FixForecast::setup(int /*vflag*/)
{
  timeout_forced = false;

  // Computes that store invocation times must know the first step we sample on; which of
  // them the input invokes is unknown here (a variable may use several), so add it to all.
  const bigint next = (update->ntimestep / nevery) * nevery + nevery;
  modify->addstep_compute_all(next);
}

/* ---------------------------------------------------------------------- */

void FixForecast::end_of_step()
{
  // the same on every rank: nonfinite_step comes from rank 0's broadcast or the restart file
  if (nonfinite_step >= 0) return;

  const double value = trace_input->sample();

  Outcome out;
  memset(&out, 0, sizeof(out));
  std::string why;
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
  if (out.status == SF_ERR_NON_FINITE) {
    handle_nonfinite(out.value);
    return;
  }
  if (out.status != SF_OK) {
    why = bcast_string(why, comm->me, world);
    error->all(FLERR, "Fix forecast {}: the monitor failed on step {} (status {}): {}", id,
               update->ntimestep, out.status, why);
  }

  state = out.state;
  frames = out.frames;
  if (out.event.flags != 0) handle_event(out.event);
}

/* ----------------------------------------------------------------------
   react to a non-finite sample as keyword nonfinite says: identical on all ranks
------------------------------------------------------------------------- */

void FixForecast::handle_nonfinite(double value)
{
  nonfinite_step = update->ntimestep;
  const uint64_t frame = frames + 1;    // the frame this sample would have been
  const std::string what = forecast_report::nonfinite_message(id, trace_input->text(),
                                                              update->ntimestep, frame, value);
  if (fp) {
    fmt::print(fp, "{}\n",
               forecast_report::nonfinite_line(update->ntimestep, frame, nonfinite_setting()));
    fflush(fp);
  }

  if (nonfinite == NONFINITE_ERROR)
    error->all(FLERR,
               "{}. The model needs a finite sample every {} steps: check the quantity (a "
               "division by zero, an empty group, an unstable run), or use 'nonfinite stop' or "
               "'nonfinite continue' to let the input script go on",
               what, nevery);

  if (nonfinite == NONFINITE_STOP) end_run(STOPPED_NONFINITE);
  if (comm->me == 0)
    error->warning(FLERR, "{}: {}; this fix decides nothing more on this trace", what,
                   nonfinite == NONFINITE_STOP ? "ending the run (nonfinite stop)"
                                               : "the run goes on (nonfinite continue)");
}

/* ----------------------------------------------------------------------
   act on a decision: identical on all ranks
------------------------------------------------------------------------- */

void FixForecast::handle_event(const sf_event &ev)
{
  using forecast_report::Response;
  last_event = ev;
  last_step = update->ntimestep;
  const bool screened = (ev.flags & SF_EVENT_SCREEN) != 0;
  const bool forecast = (ev.flags & SF_EVENT_FORECAST) != 0;
  if (screened) last_screen = ev;
  if (forecast) last_forecast = ev;

  // The library sets halt only for a confident, non-advisory, in-distribution verdict.
  Response r = Response::GO_ON;
  if (screened && ev.halt && action == HALT)
    r = Response::HALT;
  else if (forecast && after == STOP)
    r = Response::STOP;

  if (comm->me == 0) report(ev, r);
  if (r == Response::HALT) end_run(HALTED_IRRELEVANT);
  if (r == Response::STOP) end_run(STOPPED_AFTER_FORECAST);
}

/* ----------------------------------------------------------------------
   end the current run the way fix halt does: through the timer, so the
   next command of the input script runs (post_run() resets the timer)
------------------------------------------------------------------------- */

void FixForecast::end_run(int reason)
{
  stop_reason = reason;
  timer->force_timeout();
  timeout_forced = true;
}

/* ----------------------------------------------------------------------
   print a decision to screen/log and append it to the decision file (rank 0)
------------------------------------------------------------------------- */

void FixForecast::report(const sf_event &ev, forecast_report::Response r)
{
  const bool advise = (action == ADVISE);
  if (message_flag)
    utils::logmesg(lmp, forecast_report::message(id, update->ntimestep, ev, r, advise) + "\n");
  if (fp) {
    fmt::print(fp, "{}\n", forecast_report::file_line(update->ntimestep, ev, r, advise));
    fflush(fp);
  }
}

/* ---------------------------------------------------------------------- */

const char *FixForecast::nonfinite_setting() const
{
  switch (nonfinite) {
    case NONFINITE_STOP:
      return "stop";
    case NONFINITE_CONTINUE:
      return "continue";
    default:
      return "error";
  }
}

/* ----------------------------------------------------------------------
   let later runs proceed, but only if this fix stopped the current one
------------------------------------------------------------------------- */

void FixForecast::post_run()
{
  if (timeout_forced) {
    timer->reset_timeout();
    timeout_forced = false;
  }
}

/* ----------------------------------------------------------------------
   global vector, documented in doc/fix_forecast.rst (1-based there)
------------------------------------------------------------------------- */

double FixForecast::compute_vector(int n)
{
  const bool screened = last_screen.flags != 0;
  const bool forecast = last_forecast.flags != 0;
  const bool decided = last_event.flags != 0;
  switch (n) {
    case 0:
      return state;
    case 1:
      return static_cast<double>(frames);
    case 2:
      return (screened && std::isfinite(last_screen.vote)) ? last_screen.vote : -1.0;
    case 3:
      return forecast ? last_forecast.mu_minus_sigma : 0.0;
    case 4:
      return forecast ? last_forecast.mu_plus_sigma : 0.0;
    case 5:
      return static_cast<double>(last_step);
    case 6:
      return forecast ? last_forecast.mu_low : 0.0;
    case 7:
      return forecast ? last_forecast.mu_high : 0.0;
    case 8:
      return stop_reason;
    case 9:
      return decided ? last_event.ood : 0.0;
    case 10:
      return decided ? last_event.advisory : 0.0;
    case 11:
      return screened ? last_screen.verdict : -1.0;
    case 12:
      return decided ? static_cast<double>(last_event.stage) : -1.0;
    case 13:
      return (screened && std::isfinite(last_screen.score)) ? last_screen.score : 0.0;
    case 14:
      return static_cast<double>(nonfinite_step);
    default:
      return 0.0;
  }
}

/* ----------------------------------------------------------------------
   pack the monitor state and the decision record into the restart file
   (called on all ranks, fp is valid on rank 0 only)
------------------------------------------------------------------------- */

void FixForecast::write_restart(FILE *restart_fp)
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
      h.nevery = nevery;
      h.last_step = last_step;
      h.stop_reason = stop_reason;
      h.state = state;
      h.frames = frames;
      h.monitor_len = len;
      h.last_screen = last_screen;
      h.last_forecast = last_forecast;
      h.last_event = last_event;
      const RestartTrailer t{nonfinite_step};
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
  MPI_Bcast(&ok, 1, MPI_INT, 0, world);
  if (!ok) {
    why = bcast_string(why, comm->me, world);
    error->all(FLERR, "Fix forecast {} cannot save its monitor state to the restart file: {}", id,
               why);
  }
  if (comm->me == 0) {
    const int n = static_cast<int>(blob.size());
    fwrite(&n, sizeof(int), 1, restart_fp);
    fwrite(blob.data(), 1, blob.size(), restart_fp);
  }
}

/* ----------------------------------------------------------------------
   restore the state written by write_restart (called on all ranks)
------------------------------------------------------------------------- */

void FixForecast::restart(char *buf)
{
  RestartHeader h;
  memcpy(&h, buf, sizeof(h));
  if (memcmp(h.magic, RESTART_MAGIC, sizeof(h.magic)) != 0)
    error->all(FLERR,
               "Fix forecast {}: the restart file holds no fix forecast state under this ID "
               "(the record is corrupt or from another fix)",
               id);
  const size_t trailer = (h.layout >= 2) ? sizeof(RestartTrailer) : 0;
  if (h.layout < 1 || h.layout > RESTART_LAYOUT || h.event_size != sizeof(sf_event) ||
      h.total != sizeof(h) + h.monitor_len + trailer)
    error->all(FLERR,
               "Fix forecast {}: the restart record was written by an incompatible fix forecast "
               "(layout {}, event size {}; this build reads layouts 1 to {}, event size {})",
               id, h.layout, h.event_size, RESTART_LAYOUT, sizeof(sf_event));
  if (h.nevery != nevery)
    error->all(FLERR,
               "Fix forecast {}: N = {} but the restart file was written with N = {}: the frames "
               "would not continue the trace. Use N = {}",
               id, nevery, h.nevery, h.nevery);

  int ok = 1;
  std::string why;
  if (comm->me == 0) {
    const auto *state_bytes = reinterpret_cast<const uint8_t *>(buf + sizeof(h));
    if (sf_monitor_load_state(monitor, state_bytes, h.monitor_len) != SF_OK) {
      ok = 0;
      why = sf_last_error();
    }
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, world);
  if (!ok) {
    why = bcast_string(why, comm->me, world);
    error->all(FLERR,
               "Fix forecast {} cannot restore the monitor state from the restart file with "
               "model '{}': {}. Use the model file the run was started with",
               id, model_path, why);
  }

  state = h.state;
  frames = h.frames;
  last_step = h.last_step;
  stop_reason = h.stop_reason;
  last_screen = h.last_screen;
  last_forecast = h.last_forecast;
  last_event = h.last_event;
  nonfinite_step = -1;
  if (trailer) {
    RestartTrailer t;
    memcpy(&t, buf + sizeof(h) + h.monitor_len, sizeof(t));
    nonfinite_step = t.nonfinite_step;
  }
}
