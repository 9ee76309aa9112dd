/* ----------------------------------------------------------------------
   fix forecast: see fix_forecast.h and doc/fix_forecast.rst.

   Conventions follow LAMMPS' fix halt: a run is stopped through the timer,
   so the following input commands still run, and what a non-finite sample
   does is a keyword (nonfinite, like fix halt's error). The input is read as
   fix ave/time reads it (forecast_input.cpp); the text of the decisions is
   composed in forecast_report.cpp.

   The two modes live in their own files: a model and its monitor
   (forecast_model.cpp), or the model-free convergence estimator
   (forecast_convergence.cpp); this file parses the command and acts on what
   either reports.

   Parallelism: every rank evaluates the input (computes are collective), but
   only rank 0 holds the model and the monitor (or the estimator). Rank 0
   pushes its sample and broadcasts the outcome; every rank then acts on the
   same outcome, so the decision, the timer and the global vector are
   identical everywhere, and an error known to rank 0 becomes the same
   error->all() on every rank.
------------------------------------------------------------------------- */

#include "fix_forecast.h"

#include "comm.h"
#include "error.h"
#include "forecast_bcast.h"
#include "modify.h"
#include "timer.h"
#include "update.h"
#include "utils.h"

#include <cmath>
#include <cstdint>
#include <cstring>

using namespace LAMMPS_NS;
using namespace FixConst;

/* ---------------------------------------------------------------------- */

FixForecast::FixForecast(LAMMPS *lmp, int narg, char **arg) :
    Fix(lmp, narg, arg), resumed(false), trace_origin(-1), action(HALT), after(CONTINUE), nonfinite(NONFINITE_ERROR), message_flag(1),
    check_flag(1), tolerance_keyword(std::nan("")), tolerance_in_force(std::nan("")), fp(nullptr),
    state(SF_STATE_COLLECTING), frames(0), last_screen(), last_forecast(), last_event(),
    last_step(-1), stop_reason(NOT_STOPPED), timeout_forced(false), nonfinite_step(-1),
    last_check()
{
  if (narg < 6)
    error->all(FLERR,
               "Illegal fix forecast command: expected 'fix ID group-ID forecast N input "
               "model-file [keyword value ...]', 'fix ID group-ID forecast N input campaign DIR "
               "name RUNID [keyword value ...]' or 'fix ID group-ID forecast N input convergence "
               "[keyword value ...]', got {} argument(s)",
               narg);

  nevery = utils::inumeric(FLERR, arg[3], false, lmp);
  if (nevery <= 0)
    error->all(FLERR, "Illegal fix forecast N = {}: N (steps between samples) must be positive",
               nevery);
  trace_input = std::make_unique<ForecastInput>(lmp, this, arg[4]);
  model_path = arg[5];
  int first_keyword = 6;
  // the word 'convergence' in place of the model file: the model-free mode; 'campaign DIR':
  // the newest model of a campaign directory (loaded below, once the keywords are known)
  if (model_path == "convergence") {
    convergence = std::make_unique<ForecastConvergence>(lmp, this);
  } else if (model_path == "campaign") {
    if (narg < 7)
      error->all(FLERR, "Illegal fix forecast command: 'campaign' needs the campaign directory: "
                        "'fix ID group-ID forecast N input campaign DIR name RUNID [keyword "
                        "value ...]' (make DIR with `simforecast campaign init`)");
    campaign_dir = arg[6];
    first_keyword = 7;
  } else {
    model = std::make_unique<ForecastModel>(lmp, this, model_path);
  }
  last_check.verdict = SF_CONVERGENCE_VERDICT_TOO_FEW_BLOCKS;    // no check yet
  last_check.has_estimate = 0;

  parse_keywords(first_keyword, narg, arg);
  if (!campaign_dir.empty() && run_name.empty())
    error->all(FLERR,
               "Illegal fix forecast command: 'campaign {}' needs 'name RUNID', the run's unique "
               "name in the campaign (its record's name; the audit draws its runs by it), e.g. "
               "'name run_${{seed}}'",
               campaign_dir);

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

  if (convergence) {
    convergence->create();
    tolerance_in_force = convergence->tolerance();
  } else if (!campaign_dir.empty()) {
    campaign = std::make_unique<ForecastCampaign>(lmp, this, campaign_dir, run_name);
    campaign->open(trace_input->text());
    tolerance_in_force = campaign->tolerance();
    if (campaign->model_version() > 0) {
      model_path = campaign->model_path();
      model = std::make_unique<ForecastModel>(lmp, this, model_path);
      // the campaign's tolerance where the model accepts it (the campaign judges by it anyway)
      model->load(check_flag, campaign->tolerance(), true);
    }
  } else {
    model->load(check_flag, tolerance_keyword);
    tolerance_in_force = model->tolerance();
  }
  if (campaign) campaign->set_restart_file(restart_file);
  open_file();

  if (comm->me == 0 && convergence) {
    utils::logmesg(lmp,
                   "fix forecast {}: model-free convergence mode (simforecast {}): {}. A check "
                   "converges when the interval for the run's mean from its own frames (at that "
                   "level) is within the tolerance (relative half-width) and the means of the two "
                   "halves after equilibration agree within the drift. Such a stop is converged "
                   "by own statistics, not calibrated: on a system that drifts for longer than it "
                   "has been watched it comes early and its interval can miss the run's later "
                   "mean (audit the rule on finished runs with 'simforecast convergence'); after "
                   "{}\n",
                   id, sf_version(), convergence->settings(),
                   after == STOP ? "stop ends the run at the first converged check"
                                 : "continue only reports it");
  } else if (comm->me == 0 && campaign) {
    utils::logmesg(lmp, "fix forecast {}: run {} of {}\n", id, run_name, campaign->describe());
    if (campaign->resuming_from() > 0)
      utils::logmesg(lmp,
                     "fix forecast {}: run {} is recorded as halted after {} frames: it resumes "
                     "from the restart file read before this fix (read_restart, the same fix "
                     "ID), acts on nothing, runs to its end and replaces its halted record\n",
                     id, run_name, campaign->resuming_from());
    if (model)
      utils::logmesg(lmp,
                     "fix forecast {}: the campaign's newest model, version {}: '{}' (simforecast "
                     "{}), its card:\n{}\nfix forecast {}: {}\n",
                     id, campaign->model_version(), model_path, sf_version(), model->describe(),
                     id, tolerance_text());
    else
      utils::logmesg(lmp,
                     "fix forecast {}: the campaign has no model yet: this run only collects its "
                     "frames, and records them at its end\n",
                     id);
  } else if (comm->me == 0) {
    utils::logmesg(lmp, "fix forecast {}: model '{}' (simforecast {}), its card:\n{}\n", id, model_path,
                   sf_version(), model->describe());
    utils::logmesg(lmp, "fix forecast {}: {}\n", id, tolerance_text());
  }
}

/* ----------------------------------------------------------------------
   keyword/value pairs; those of one mode are errors in the other
------------------------------------------------------------------------- */

void FixForecast::parse_keywords(int iarg, int narg, char **arg)
{
  const bool in_campaign = !campaign_dir.empty();
  while (iarg < narg) {
    const std::string key = arg[iarg];
    if (iarg + 2 > narg)
      error->all(FLERR, "Illegal fix forecast command: keyword '{}' needs a value", key);
    const std::string val = arg[iarg + 1];
    if (in_campaign && (key == "action" || key == "after" || key == "tolerance"))
      error->all(FLERR,
                 "Illegal fix forecast keyword '{}' in campaign mode: the campaign decides (a halt "
                 "or a forecast within the campaign's tolerance ends the run unless its audit "
                 "lets it run on; set the tolerance with `simforecast campaign init "
                 "--tolerance`)",
                 key);
    if (key == "restart" && !in_campaign)
      error->all(FLERR, "Illegal fix forecast keyword 'restart': it names the restart file a "
                        "halted campaign run is resumed from (campaign mode)");
    if (key == "name") {
      if (!in_campaign)
        error->all(FLERR, "Illegal fix forecast keyword 'name': it names the run in a campaign "
                          "('campaign DIR' in place of the model file)");
      run_name = val;
    } else if (key == "action" || key == "check") {
      if (convergence)
        error->all(FLERR,
                   "Illegal fix forecast keyword '{}' in convergence mode: it applies to a model "
                   "file (the convergence mode screens nothing and has no frame spacing; use "
                   "'after stop' to end a run at its first converged check)",
                   key);
    } else if (key == "tolerance" && !convergence) {
      // the model's monitor checks it against the model's calibrated range when it is loaded
      tolerance_keyword = utils::numeric(FLERR, val, false, lmp);
      if (!(tolerance_keyword > 0.0) || !std::isfinite(tolerance_keyword))
        error->all(FLERR,
                   "Illegal fix forecast tolerance {}: a positive relative half-width of the 90 % "
                   "interval for mu is expected (0.25 = mu within +-25 %)",
                   val);
    } else if (ForecastConvergence::is_keyword(key)) {
      if (!convergence)
        error->all(FLERR,
                   "Illegal fix forecast keyword '{}' with a model file: every, min and drift "
                   "are keywords of the model-free mode ('convergence' in place of the model "
                   "file)",
                   key);
      convergence->keyword(key, val);
    }
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
    } else if (key == "name") {
    } else if (key == "restart") {
      restart_file = val;
    } else if (!ForecastConvergence::is_keyword(key)) {
      if (convergence)
        error->all(FLERR,
                   "Illegal fix forecast keyword '{}': expected every, min, tolerance, drift, "
                   "after, nonfinite, file or message (convergence mode)",
                   key);
      if (in_campaign)
        error->all(FLERR,
                   "Illegal fix forecast keyword '{}': expected name, restart, nonfinite, file, "
                   "message or check (campaign mode)",
                   key);
      error->all(FLERR,
                 "Illegal fix forecast keyword '{}': expected action, tolerance, after, "
                 "nonfinite, file, message or check",
                 key);
    }
    iarg += 2;
  }
}

/* ----------------------------------------------------------------------
   open the decision file (rank 0) and write its header
------------------------------------------------------------------------- */

void FixForecast::open_file()
{
  if (file_path.empty()) return;
  const int me = comm->me;
  int ok = 1;
  std::string why;
  if (me == 0) {
    fp = fopen(file_path.c_str(), "a");
    if (!fp) {
      ok = 0;
      why = utils::getsyserror();
    }
  }
  if (forecast_bcast::failed(ok, why, me, world)) {
    release();
    error->all(FLERR, "Fix forecast {} cannot open file '{}': {}", id, file_path, why);
  }
  if (me != 0) return;
  if (convergence)
    fmt::print(fp,
               "# fix forecast {}: convergence (model-free: a converged check is converged by "
               "own statistics, not calibrated), N {}, input {}, {}, after {}, nonfinite {}, "
               "defined at step {}\n{}\n",
               id, nevery, trace_input->text(), convergence->settings(),
               after == STOP ? "stop" : "continue", nonfinite_setting(), update->ntimestep,
               forecast_report::convergence_file_header());
  else
    fmt::print(fp,
               "# fix forecast {}: model {}, N {}, input {}, {}, action {}, after {}, nonfinite {}, "
               "defined at step {}\n{}\n",
               id,
               campaign ? fmt::format("{} (campaign {}, run {})",
                                      model ? model_path : std::string("none yet"), campaign_dir,
                                      run_name)
                        : model_path,
               nevery, trace_input->text(), tolerance_text(),
               action == HALT ? "halt" : "advise",
               after == STOP ? "stop" : "continue", nonfinite_setting(), update->ntimestep,
               forecast_report::file_header());
  fflush(fp);
}

/* ---------------------------------------------------------------------- */

FixForecast::~FixForecast()
{
  release();
}

/* ----------------------------------------------------------------------
   free the model, monitor, estimator and decision file (rank 0 holds them)
------------------------------------------------------------------------- */

void FixForecast::release()
{
  convergence.reset();
  model.reset();
  campaign.reset();
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
  if (campaign && campaign->resuming_from() > 0 && !resumed)
    error->all(FLERR,
               "Fix forecast {}: run {} is recorded as halted after {} frames in campaign '{}': "
               "resume it from the restart file written after its halt (read_restart FILE, then "
               "this fix with the same ID; README \"Campaign mode\"), or run it again under "
               "another name",
               id, run_name, campaign->resuming_from(), campaign_dir);
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

  // a campaign run is recorded once: later runs of the input are not watched
  if (campaign && campaign->recorded()) return;

  const double value = trace_input->sample();
  if (convergence)
    convergence_step(value);
  else if (model)
    model_step(value);
  else
    collect_step(value);
}

/* ----------------------------------------------------------------------
   model mode: push on rank 0, act on all ranks
------------------------------------------------------------------------- */

void FixForecast::model_step(double value)
{
  std::string why;
  const ForecastModel::Outcome out = model->push(value, why);
  if (out.status == SF_ERR_NON_FINITE) {
    handle_nonfinite(out.value);
    return;
  }
  if (out.status != SF_OK)
    error->all(FLERR, "Fix forecast {}: the monitor failed on step {} (status {}): {}", id,
               update->ntimestep, out.status, why);

  state = out.state;
  frames = out.frames;
  if (campaign) campaign->sample(value);
  if (trace_origin < 0) trace_origin = update->ntimestep - static_cast<bigint>(frames) * nevery;
  if (out.event.flags != 0) handle_event(out.event);
}

/* ----------------------------------------------------------------------
   campaign mode without a model yet: the frames are only kept for the record
------------------------------------------------------------------------- */

void FixForecast::collect_step(double value)
{
  // the same test on every rank: the input's value is computed everywhere
  if (!std::isfinite(value)) {
    handle_nonfinite(value);
    return;
  }
  campaign->sample(value);
  ++frames;
  if (trace_origin < 0) trace_origin = update->ntimestep - static_cast<bigint>(frames) * nevery;
}

/* ----------------------------------------------------------------------
   convergence mode: push (and check when due) on rank 0, act on all ranks
------------------------------------------------------------------------- */

void FixForecast::convergence_step(double value)
{
  using forecast_report::Response;
  std::string why;
  // after the first converged check the estimate is written: nothing more is checked
  const bool watching = state != SF_STATE_FORECAST_READY;
  const ForecastConvergence::Outcome out = convergence->push(value, watching, why);
  if (out.status == SF_ERR_NON_FINITE) {
    handle_nonfinite(out.value);
    return;
  }
  if (out.status != SF_OK)
    error->all(FLERR,
               "Fix forecast {}: the convergence estimator failed on step {} (status {}): {}", id,
               update->ntimestep, out.status, why);
  frames = out.frames;
  if (!out.checked) return;

  last_check = out.result;
  last_step = update->ntimestep;
  const bool converged = out.result.verdict == SF_CONVERGENCE_VERDICT_CONVERGED;
  if (converged) state = SF_STATE_FORECAST_READY;
  const Response r = (converged && after == STOP) ? Response::STOP : Response::GO_ON;
  if (comm->me == 0) {
    if (converged && message_flag)
      utils::logmesg(lmp,
                     forecast_report::convergence_message(id, update->ntimestep, out.result,
                                                          convergence->tolerance(),
                                                          convergence->drift(), r) +
                         "\n");
    if (fp) {
      fmt::print(fp, "{}\n",
                 forecast_report::convergence_file_line(update->ntimestep, out.result, r));
      fflush(fp);
    }
  }
  if (r == Response::STOP) end_run(STOPPED_AFTER_FORECAST);
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
               convergence ? forecast_report::convergence_nonfinite_line(update->ntimestep, frame,
                                                                         nonfinite_setting())
                           : forecast_report::nonfinite_line(update->ntimestep, frame,
                                                             nonfinite_setting()));
    fflush(fp);
  }

  if (nonfinite == NONFINITE_ERROR)
    error->all(FLERR,
               "{}. The {} needs a finite sample every {} steps: check the quantity (a "
               "division by zero, an empty group, an unstable run), or use 'nonfinite stop' or "
               "'nonfinite continue' to let the input script go on",
               what, convergence ? "convergence estimator" : "model", nevery);

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
  if (campaign)
    r = campaign_response(ev);
  else if (screened && ev.halt && action == HALT)
    r = Response::HALT;
  else if (forecast && after == STOP)
    r = Response::STOP;

  if (comm->me == 0) report(ev, r);
  if (r == Response::HALT) end_run(HALTED_IRRELEVANT);
  if (r == Response::STOP) end_run(STOPPED_AFTER_FORECAST);
}

/* ----------------------------------------------------------------------
   campaign mode: a halt, or a forecast the campaign finds within its
   tolerance, ends the run unless the campaign's audit (or its advisory
   state) lets the run go on to label the decision; after such a verdict
   the run goes to its end whatever comes (identical on all ranks)
------------------------------------------------------------------------- */

forecast_report::Response FixForecast::campaign_response(const sf_event &ev)
{
  using forecast_report::Response;
  // a resumed halt acts on nothing: the user chose to finish it
  if (resumed || campaign->overridden()) return Response::GO_ON;
  const bool halt = (ev.flags & SF_EVENT_SCREEN) && ev.halt;
  if (!halt && !(ev.flags & SF_EVENT_FORECAST)) return Response::GO_ON;
  const int32_t verdict = campaign->judge(ev, halt);
  if (verdict == SF_CAMPAIGN_OBEY) return halt ? Response::HALT : Response::STOP;
  if (comm->me == 0 && (verdict == SF_CAMPAIGN_AUDIT || verdict == SF_CAMPAIGN_ADVISORY))
    utils::logmesg(lmp,
                   "fix forecast {} step {} frame {}: the model would {} the run, but {}: it runs "
                   "to its end, and its record keeps the decision\n",
                   id, update->ntimestep, ev.frame, halt ? "halt" : "stop at its forecast",
                   verdict == SF_CAMPAIGN_AUDIT
                       ? "the campaign's audit drew it (by the hash of its name)"
                       : "the campaign is advisory (its audit shows the model below target)");
  return Response::GO_ON;
}

/* ----------------------------------------------------------------------
   campaign mode, at the end of a run (all ranks): record the run once it
   finished its declared frames, or was halted or stopped at a forecast
------------------------------------------------------------------------- */

void FixForecast::campaign_record()
{
  using End = ForecastCampaign::End;
  if (campaign->recorded() || frames == 0) return;
  // the run as declared by `run N` (with start/stop: the whole of it), in frames; a resumed
  // run from its trace's frame 0 (`run N upto` after read_restart)
  const bigint declared =
      (update->endstep - (resumed && trace_origin >= 0 ? trace_origin : update->beginstep)) /
      nevery;
  End end = End::FINISHED;
  if (stop_reason == HALTED_IRRELEVANT) {
    end = End::HALTED;
  } else if (stop_reason == STOPPED_AFTER_FORECAST) {
    end = End::STOPPED_AT_FORECAST;
  } else if (nonfinite_step >= 0 || update->ntimestep < update->laststep) {
    // a partial trace with an unknown outcome would teach the campaign a wrong result
    if (comm->me == 0)
      error->warning(FLERR,
                     "Fix forecast {}: run {} ended after {} of {} frames, {}: not recorded in "
                     "campaign '{}'",
                     id, run_name, frames, declared,
                     nonfinite_step >= 0 ? "its input turned non-finite"
                                         : "stopped by something else than this fix",
                     campaign_dir);
    campaign->record_nothing();
    return;
  } else if (update->laststep < update->endstep) {
    return;    // a part of a longer run (run N start/stop): recorded at its end
  }
  campaign->record(end, frames, declared > 0 ? static_cast<uint64_t>(declared) : 0,
                   last_forecast);
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

/* ----------------------------------------------------------------------
   the tolerance in force, as the log and the decision file's header say it
------------------------------------------------------------------------- */

std::string FixForecast::tolerance_text() const
{
  if (campaign && model && model->tolerance() != campaign->tolerance())
    return fmt::format("tolerance {} (the campaign's; the model's monitor forecasts at {})",
                       campaign->tolerance(), model->tolerance());
  if (campaign) return fmt::format("tolerance {} (the campaign's)", campaign->tolerance());
  if (std::isnan(tolerance_in_force))
    return "tolerance none (the model forecasts at any interval width)";
  return fmt::format("tolerance {} ({})", tolerance_in_force,
                     std::isnan(tolerance_keyword) ? "the model's" : "keyword tolerance");
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
  if (campaign) campaign_record();
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
  const bool converged = state == SF_STATE_FORECAST_READY;
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
      if (convergence) return converged ? last_check.mu_low : 0.0;
      return forecast ? last_forecast.mu_low : 0.0;
    case 7:
      if (convergence) return converged ? last_check.mu_high : 0.0;
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
    // 15-20: the estimate of mu from the run's own statistics (convergence mode), and what
    // the current estimate rests on in either mode
    case 15:
      return last_check.has_estimate ? last_check.mean : 0.0;
    case 16:
      return last_check.has_estimate ? last_check.mu_low : 0.0;
    case 17:
      return last_check.has_estimate ? last_check.mu_high : 0.0;
    case 18:
      return last_check.has_estimate ? static_cast<double>(last_step) : -1.0;
    case 19:
      if (convergence)
        return last_check.has_estimate ? SF_EVIDENCE_OWN_STATISTICS : EVIDENCE_NONE;
      return forecast ? last_forecast.evidence : EVIDENCE_NONE;
    case 20:
      // checks stop at the first converged one, so the last check converged once state is 3
      if (convergence) return converged ? 1.0 : 0.0;
      return (forecast && last_forecast.within_tolerance) ? 1.0 : 0.0;
    case 21:
      // the tolerance in force now (the same on every rank); 0 when there is none
      return std::isnan(tolerance_in_force) ? 0.0 : tolerance_in_force;
    case 22:
      // campaign mode: the campaign's model version in use, 0 while it has none (the run only
      // collects); -1 outside campaign mode
      return campaign ? static_cast<double>(campaign->model_version()) : -1.0;
    default:
      return 0.0;
  }
}

/* ----------------------------------------------------------------------
   pack the monitor's (or estimator's) state and the decision record into
   the restart file
   (called on all ranks, fp is valid on rank 0 only)
------------------------------------------------------------------------- */

void FixForecast::write_restart(FILE *restart_fp)
{
  if (campaign) {
    campaign_write_restart(restart_fp);
    return;
  }
  const std::vector<char> blob =
      convergence ? convergence->pack({last_step, nonfinite_step, stop_reason, state, frames,
                                       last_check})
                  : model->pack({last_step, nonfinite_step, stop_reason, state, frames,
                                 last_screen, last_forecast, last_event});
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
  // a record of the other mode is named as such
  const bool convergence_record = ForecastConvergence::is_record(buf);
  const bool model_record = ForecastModel::is_record(buf);
  const bool campaign_record = is_campaign_record(buf);
  if (campaign_record && !campaign)
    error->all(FLERR,
               "Fix forecast {}: the restart file holds the state of a fix forecast in campaign "
               "mode under this ID: define it with 'campaign DIR name RUNID' as in the run that "
               "wrote it",
               id);
  if (campaign && !campaign_record)
    error->all(FLERR,
               "Fix forecast {}: the restart file holds the state of a fix forecast {} under this "
               "ID, not of the campaign mode: define it as in the run that wrote it",
               id,
               convergence_record ? "in convergence mode"
                   : model_record ? "with a model file"
                                  : "of an unknown kind (corrupt, or from another fix)");
  if (campaign) {
    campaign_restore(buf);
    return;
  }
  if (!convergence_record && !model_record)
    error->all(FLERR,
               "Fix forecast {}: the restart file holds no fix forecast state under this ID "
               "(the record is corrupt or from another fix)",
               id);
  if (convergence_record && !convergence)
    error->all(FLERR,
               "Fix forecast {}: the restart file holds the state of a fix forecast in "
               "convergence mode under this ID: define it with 'convergence' in place of the "
               "model file, as in the run that wrote it",
               id);
  if (model_record && convergence)
    error->all(FLERR,
               "Fix forecast {}: the restart file holds the state of a fix forecast with a model "
               "file under this ID, not of the convergence mode: define it with the model file "
               "of the run that wrote it",
               id);

  if (convergence) {
    const ForecastConvergence::Record r = convergence->restore(buf);
    last_step = r.last_step;
    nonfinite_step = r.nonfinite_step;
    stop_reason = r.stop_reason;
    state = r.state;
    frames = r.frames;
    last_check = r.last_check;
  } else {
    const ForecastModel::Record r = model->restore(buf);
    last_step = r.last_step;
    nonfinite_step = r.nonfinite_step;
    stop_reason = r.stop_reason;
    state = r.state;
    frames = r.frames;
    last_screen = r.last_screen;
    last_forecast = r.last_forecast;
    last_event = r.last_event;
  }
}

/* ----------------------------------------------------------------------
   campaign mode's restart record: its header (the run's name, the campaign
   model version in use, the trace's origin step, the decision record), the
   run's name, then the monitor's state when a model is in use
------------------------------------------------------------------------- */

namespace {
const char CAMPAIGN_MAGIC[8] = {'S', 'F', 'C', 'A', 'M', 'P', '1', '\0'};
constexpr uint32_t CAMPAIGN_LAYOUT = 1;

struct CampaignRestartHeader {
  char magic[8];
  uint32_t layout;
  uint32_t event_size;
  uint32_t model_version;
  int32_t stop_reason;
  int64_t nevery;
  int64_t origin_step;
  int64_t last_step;
  int64_t nonfinite_step;
  int32_t state;
  int32_t pad;
  uint64_t frames;
  uint64_t name_len;
  uint64_t monitor_len;
  sf_event last_screen, last_forecast, last_event;
};
}    // namespace

bool FixForecast::is_campaign_record(const char *buf)
{
  return memcmp(buf, CAMPAIGN_MAGIC, sizeof(CAMPAIGN_MAGIC)) == 0;
}

void FixForecast::campaign_write_restart(FILE *restart_fp)
{
  // the monitor's state, through the model mode's record (collective; complete on rank 0)
  const std::vector<char> monitor =
      model ? model->pack({last_step, nonfinite_step, stop_reason, state, frames, last_screen,
                           last_forecast, last_event})
            : std::vector<char>();
  if (comm->me != 0) return;
  CampaignRestartHeader h;
  memset(&h, 0, sizeof(h));
  memcpy(h.magic, CAMPAIGN_MAGIC, sizeof(h.magic));
  h.layout = CAMPAIGN_LAYOUT;
  h.event_size = sizeof(sf_event);
  h.model_version = campaign->model_version();
  h.stop_reason = stop_reason;
  h.nevery = nevery;
  h.origin_step = trace_origin;
  h.last_step = last_step;
  h.nonfinite_step = nonfinite_step;
  h.state = state;
  h.frames = frames;
  h.name_len = run_name.size();
  h.monitor_len = monitor.size();
  h.last_screen = last_screen;
  h.last_forecast = last_forecast;
  h.last_event = last_event;
  const int n = static_cast<int>(sizeof(h) + run_name.size() + monitor.size());
  fwrite(&n, sizeof(int), 1, restart_fp);
  fwrite(&h, sizeof(h), 1, restart_fp);
  fwrite(run_name.data(), 1, run_name.size(), restart_fp);
  if (!monitor.empty()) fwrite(monitor.data(), 1, monitor.size(), restart_fp);
}

void FixForecast::campaign_restore(const char *buf)
{
  CampaignRestartHeader h;
  memcpy(&h, buf, sizeof(h));
  if (h.layout != CAMPAIGN_LAYOUT || h.event_size != sizeof(sf_event))
    error->all(FLERR,
               "Fix forecast {}: the campaign restart record was written by an incompatible fix "
               "forecast (layout {}, event size {}; this build reads layout {}, event size {})",
               id, h.layout, h.event_size, CAMPAIGN_LAYOUT, sizeof(sf_event));
  const std::string name(buf + sizeof(h), h.name_len);
  if (name != run_name)
    error->all(FLERR,
               "Fix forecast {}: the restart file holds campaign run {}, but this fix names run "
               "{}: resume a run under its own name ('name {}')",
               id, name, run_name, name);
  if (h.nevery != nevery)
    error->all(FLERR,
               "Fix forecast {}: N = {} but the restart file was written with N = {}: the frames "
               "would not continue the trace. Use N = {}",
               id, nevery, h.nevery, h.nevery);
  const uint64_t halted = campaign->resuming_from();
  if (halted == 0)
    error->all(FLERR,
               "Fix forecast {}: the restart file holds run {}'s state after {} frames, but "
               "campaign '{}' has no halted record of it: in campaign mode a restart resumes a "
               "halted run (written after its halt), nothing else",
               id, run_name, h.frames, campaign_dir);
  if (h.stop_reason != HALTED_IRRELEVANT || h.frames != halted)
    error->all(FLERR,
               "Fix forecast {}: the restart file holds run {} after {} frames{}, but the "
               "campaign recorded it halted after {}: use the restart file written right after "
               "the halt",
               id, run_name, h.frames, h.stop_reason == HALTED_IRRELEVANT ? "" : ", not halted",
               halted);
  if (h.model_version != campaign->model_version())
    error->all(FLERR,
               "Fix forecast {}: the restart file was written with campaign model {}, but run {} "
               "was halted by model {}",
               id, h.model_version, run_name, campaign->model_version());
  if (model && h.monitor_len > 0) model->restore(buf + sizeof(h) + h.name_len);
  last_step = h.last_step;
  nonfinite_step = h.nonfinite_step;
  state = h.state;
  frames = h.frames;
  last_screen = h.last_screen;
  last_forecast = h.last_forecast;
  last_event = h.last_event;
  trace_origin = h.origin_step;
  // resumed: the run is no longer stopped, and this fix acts on nothing more
  stop_reason = NOT_STOPPED;
  resumed = true;
}
