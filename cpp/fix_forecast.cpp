/* ----------------------------------------------------------------------
   fix forecast: see fix_forecast.h and doc/fix_forecast.rst.

   Conventions follow LAMMPS' fix halt (stopping a run through the timer, so
   the following input commands still run) and fix ave/time (global inputs
   v_/c_/f_, compute invocation bookkeeping, output frequency checks).

   Parallelism: every rank evaluates the input (computes are collective), but
   only rank 0 holds the model and the monitor. Rank 0 pushes its sample and
   broadcasts the outcome; every rank then acts on the same outcome, so the
   decision, the timer and the global vector are identical everywhere, and an
   error known to rank 0 becomes the same error->all() on every rank.
------------------------------------------------------------------------- */

#include "fix_forecast.h"

#include "comm.h"
#include "compute.h"
#include "error.h"
#include "input.h"
#include "modify.h"
#include "timer.h"
#include "update.h"
#include "utils.h"
#include "variable.h"

#include <cmath>
#include <cstdint>
#include <cstring>

using namespace LAMMPS_NS;
using namespace FixConst;

namespace {

// Restart record of one fix forecast: this header, then the monitor state bytes.
// Stored in native byte order, like the rest of a LAMMPS restart file.
constexpr char RESTART_MAGIC[8] = {'S', 'F', 'F', 'O', 'R', 'E', 'C', 'A'};
constexpr uint32_t RESTART_LAYOUT = 1;

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

const char *verdict_name(int32_t verdict)
{
  switch (verdict) {
    case SF_VERDICT_RELEVANT:
      return "relevant";
    case SF_VERDICT_IRRELEVANT:
      return "irrelevant";
    case SF_VERDICT_UNSURE:
      return "unsure";
    default:
      return "unknown";
  }
}

}    // namespace

/* ---------------------------------------------------------------------- */

FixForecast::FixForecast(LAMMPS *lmp, int narg, char **arg) :
    Fix(lmp, narg, arg), input_kind(VARIABLE), input_index(0), ivar(-1), icompute(nullptr),
    ifix(nullptr), action(HALT), after(CONTINUE), message_flag(1), check_flag(1), fp(nullptr),
    model(nullptr), monitor(nullptr), frame_spacing(0), max_window(0),
    state(SF_STATE_COLLECTING), frames(0), last_screen(), last_forecast(), last_event(),
    last_step(-1), stop_reason(NOT_STOPPED), timeout_forced(false)
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
  parse_input(arg[4]);
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
    } else if (key == "file") {
      file_path = val;
    } else if (key == "message") {
      message_flag = utils::logical(FLERR, val, false, lmp);
    } else if (key == "check") {
      check_flag = utils::logical(FLERR, val, false, lmp);
    } else {
      error->all(FLERR,
                 "Illegal fix forecast keyword '{}': expected action, after, file, message "
                 "or check",
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
  resolve_input(false);

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
                 "# fix forecast {}: model {}, N {}, input {}, action {}, after {}, defined at "
                 "step {}\n"
                 "# step frame stage kind verdict vote score cut mu-sigma mu+sigma mu_low "
                 "mu_high level flags\n",
                 id, model_path, nevery, input_name, action == HALT ? "halt" : "advise",
                 after == STOP ? "stop" : "continue", update->ntimestep);
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
  resolve_input(true);
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
  const double value = sample();

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

  if (out.status != SF_OK) {
    why = bcast_string(why, comm->me, world);
    if (out.status == SF_ERR_NON_FINITE)
      error->all(FLERR,
                 "Fix forecast {}: input {} is not a finite number on step {} (value {}). The "
                 "model needs a finite sample every {} steps: check the quantity (a division "
                 "by zero, an empty group, an unstable run)",
                 id, input_name, update->ntimestep, out.value, nevery);
    error->all(FLERR, "Fix forecast {}: the monitor failed on step {} (status {}): {}", id,
               update->ntimestep, out.status, why);
  }

  state = out.state;
  frames = out.frames;
  if (out.event.flags != 0) handle_event(out.event);
}

/* ----------------------------------------------------------------------
   act on a decision: identical on all ranks
------------------------------------------------------------------------- */

void FixForecast::handle_event(const sf_event &ev)
{
  last_event = ev;
  last_step = update->ntimestep;
  const bool screened = (ev.flags & SF_EVENT_SCREEN) != 0;
  const bool forecast = (ev.flags & SF_EVENT_FORECAST) != 0;
  if (screened) last_screen = ev;
  if (forecast) last_forecast = ev;

  // The library sets halt only for a confident, non-advisory, in-distribution verdict.
  const bool halt_now = screened && ev.halt && action == HALT;
  const bool stop_now = forecast && after == STOP && !halt_now;

  if (comm->me == 0) report(ev, halt_now, stop_now);

  if (halt_now || stop_now) {
    stop_reason = halt_now ? HALTED_IRRELEVANT : STOPPED_AFTER_FORECAST;
    timer->force_timeout();
    timeout_forced = true;
  }
}

/* ----------------------------------------------------------------------
   print a decision to screen/log and append it to the decision file (rank 0)
------------------------------------------------------------------------- */

void FixForecast::report(const sf_event &ev, bool halt_now, bool stop_now)
{
  const bool screened = (ev.flags & SF_EVENT_SCREEN) != 0;
  const bool forecast = (ev.flags & SF_EVENT_FORECAST) != 0;
  const bigint step = update->ntimestep;

  std::vector<std::string> flags;
  if (halt_now) flags.emplace_back("halt");
  if (screened && ev.halt && action == ADVISE) flags.emplace_back("would-halt");
  if (stop_now) flags.emplace_back("stop");
  if (ev.advisory) flags.emplace_back("advisory");
  if (ev.ood) flags.emplace_back("ood");

  if (message_flag) {
    std::string text = fmt::format("fix forecast {} step {} frame {} stage {}:", id, step,
                                   ev.frame, ev.stage);
    if (screened)
      text += fmt::format(" screening verdict {} (vote for irrelevant {:.4g}, score {:.4g}, "
                          "cut {:.4g})",
                          verdict_name(ev.verdict), ev.vote, ev.score, ev.cut);
    if (forecast)
      text += fmt::format("{} forecast mu-sigma = {:.6g}, mu+sigma = {:.6g}, mu in [{:.6g}, "
                          "{:.6g}] at level {:.3g}",
                          screened ? ";" : "", ev.mu_minus_sigma, ev.mu_plus_sigma, ev.mu_low,
                          ev.mu_high, ev.level);
    if (ev.ood) text += "; the trace is outside the training distribution: no action";
    if (ev.advisory) text += "; the stage is advisory: no action";
    if (halt_now) text += "; halting the run (action halt)";
    if (screened && ev.halt && action == ADVISE)
      text += "; the run would be halted, continuing (action advise)";
    if (stop_now) text += "; ending the run (after stop)";
    utils::logmesg(lmp, text + "\n");
  }

  if (fp) {
    const char *kind = screened && forecast ? "screen+forecast" : (screened ? "screen" : "forecast");
    std::string flagtext;
    for (const auto &f : flags) flagtext += (flagtext.empty() ? "" : ",") + f;
    if (flagtext.empty()) flagtext = "-";
    // %.17g round-trips a double exactly, so the file is the record of the decision.
    fprintf(fp, "%lld %llu %u %s %s %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %s\n",
            static_cast<long long>(step), static_cast<unsigned long long>(ev.frame),
            static_cast<unsigned>(ev.stage), kind, screened ? verdict_name(ev.verdict) : "-",
            ev.vote, ev.score, ev.cut, ev.mu_minus_sigma, ev.mu_plus_sigma, ev.mu_low, ev.mu_high,
            ev.level, flagtext.c_str());
    fflush(fp);
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
      h.total = sizeof(h) + len;
      h.nevery = nevery;
      h.last_step = last_step;
      h.stop_reason = stop_reason;
      h.state = state;
      h.frames = frames;
      h.monitor_len = len;
      h.last_screen = last_screen;
      h.last_forecast = last_forecast;
      h.last_event = last_event;
      blob.resize(sizeof(h) + len);
      memcpy(blob.data(), &h, sizeof(h));
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
  if (h.layout != RESTART_LAYOUT || h.event_size != sizeof(sf_event) ||
      h.total != sizeof(h) + h.monitor_len)
    error->all(FLERR,
               "Fix forecast {}: the restart record was written by an incompatible fix forecast "
               "(layout {}, event size {}; this build expects layout {}, event size {})",
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
}

/* ----------------------------------------------------------------------
   parse v_name | c_ID | c_ID[I] | f_ID | f_ID[I]
------------------------------------------------------------------------- */

void FixForecast::parse_input(const char *text)
{
  input_name = text;
  const std::string s = text;
  const auto bad = [&](const std::string &why) {
    error->all(FLERR,
               "Illegal fix forecast input '{}': {}. Expected v_name, c_ID, c_ID[I], f_ID or "
               "f_ID[I] (a global scalar, or element I of a global vector)",
               s, why);
  };
  if (s.size() < 3 || s[1] != '_' || (s[0] != 'v' && s[0] != 'c' && s[0] != 'f'))
    bad("unknown kind of input");
  input_kind = (s[0] == 'v') ? VARIABLE : ((s[0] == 'c') ? COMPUTE : FIX);

  std::string rest = s.substr(2);
  const auto lb = rest.find('[');
  if (lb != std::string::npos) {
    if (rest.back() != ']') bad("missing ']'");
    const std::string index = rest.substr(lb + 1, rest.size() - lb - 2);
    if (!utils::is_integer(index)) bad("the index must be an integer");
    input_index = std::stoi(index);
    if (input_index < 1) bad("the index must be 1 or larger");
    rest = rest.substr(0, lb);
  }
  if (rest.empty()) bad("empty name");
  if (input_kind == VARIABLE && input_index > 0)
    bad("use an equal-style variable for one element of a vector");
  input_id = rest;
}

/* ----------------------------------------------------------------------
   find and check the input; in_init: also check what depends on other fixes
------------------------------------------------------------------------- */

void FixForecast::resolve_input(bool in_init)
{
  if (input_kind == VARIABLE) {
    ivar = input->variable->find(input_id.c_str());
    if (ivar < 0)
      error->all(FLERR, "Variable name {} for fix forecast {} does not exist", input_id, id);
    if (input->variable->equalstyle(ivar) == 0)
      error->all(FLERR,
                 "Fix forecast {} variable {} is not equal-style: the input must be a global "
                 "scalar",
                 id, input_id);
  } else if (input_kind == COMPUTE) {
    icompute = modify->get_compute_by_id(input_id);
    if (!icompute)
      error->all(FLERR, "Compute ID {} for fix forecast {} does not exist", input_id, id);
    if (input_index == 0 && icompute->scalar_flag == 0)
      error->all(FLERR, "Fix forecast {}: compute {} does not calculate a global scalar", id,
                 input_id);
    if (input_index > 0 && icompute->vector_flag == 0)
      error->all(FLERR, "Fix forecast {}: compute {} does not calculate a global vector", id,
                 input_id);
    if (input_index > 0 && icompute->size_vector_variable == 0 &&
        input_index > icompute->size_vector)
      error->all(FLERR, "Fix forecast {}: compute {} vector has {} elements, index {} is out of range",
                 id, input_id, icompute->size_vector, input_index);
  } else {
    ifix = modify->get_fix_by_id(input_id);
    if (!ifix) error->all(FLERR, "Fix ID {} for fix forecast {} does not exist", input_id, id);
    if (ifix == this) error->all(FLERR, "Fix forecast {} cannot use its own output as input", id);
    if (input_index == 0 && ifix->scalar_flag == 0)
      error->all(FLERR, "Fix forecast {}: fix {} does not calculate a global scalar", id,
                 input_id);
    if (input_index > 0 && ifix->vector_flag == 0)
      error->all(FLERR, "Fix forecast {}: fix {} does not calculate a global vector", id,
                 input_id);
    if (input_index > 0 && ifix->size_vector_variable == 0 && input_index > ifix->size_vector)
      error->all(FLERR, "Fix forecast {}: fix {} vector has {} elements, index {} is out of range",
                 id, input_id, ifix->size_vector, input_index);
    if (nevery % ifix->global_freq)
      error->all(FLERR,
                 "Fix forecast {}: fix {} is not computed at compatible times: N = {} must be a "
                 "multiple of its output interval {}",
                 id, input_id, nevery, ifix->global_freq);
    if (in_init) {
      // Fixes run end_of_step() in the order they were defined: reading a fix defined later
      // would give its value from the previous interval, one frame late.
      const int mine = modify->find_fix(id);
      const int theirs = modify->find_fix(input_id);
      if (theirs > mine && (ifix->setmask() & END_OF_STEP))
        error->all(FLERR,
                   "Fix forecast {} reads fix {}, which is defined after it and updates at the "
                   "end of a step: define fix {} before fix forecast {}",
                   id, input_id, input_id, id);
    }
  }
}

/* ----------------------------------------------------------------------
   evaluate the input on this step (collective: every rank calls it)
------------------------------------------------------------------------- */

double FixForecast::sample()
{
  // computes used by the input may be invoked here, so bracket with clear/add like fix halt
  modify->clearstep_compute();

  double value = 0.0;
  if (input_kind == VARIABLE) {
    value = input->variable->compute_equal(ivar);
  } else if (input_kind == COMPUTE) {
    if (input_index == 0) {
      if (!(icompute->invoked_flag & Compute::INVOKED_SCALAR)) {
        icompute->compute_scalar();
        icompute->invoked_flag |= Compute::INVOKED_SCALAR;
      }
      value = icompute->scalar;
    } else {
      if (!(icompute->invoked_flag & Compute::INVOKED_VECTOR)) {
        icompute->compute_vector();
        icompute->invoked_flag |= Compute::INVOKED_VECTOR;
      }
      if (icompute->size_vector_variable && input_index > icompute->size_vector)
        error->all(FLERR, "Fix forecast {}: compute {} vector has {} elements on step {}, index {} is out of range",
                   id, input_id, icompute->size_vector, update->ntimestep, input_index);
      value = icompute->vector[input_index - 1];
    }
  } else {
    value = (input_index == 0) ? ifix->compute_scalar() : ifix->compute_vector(input_index - 1);
  }

  modify->addstep_compute(update->ntimestep + nevery);
  return value;
}
