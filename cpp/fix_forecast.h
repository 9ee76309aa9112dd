/* -*- c++ -*- ----------------------------------------------------------
   fix forecast: stream a global scalar of a running LAMMPS simulation into a
   trained simforecast model, one frame every N steps, and act on its decisions
   (halt a run the model screens as irrelevant, report the forecast of mu +/- sigma,
   made where its interval is within the tolerance in force: keyword tolerance, else the
   model's);
   or, with 'campaign DIR name RUNID' in place of the model file, into the
   newest model of a campaign directory, recording the run there at its end
   (forecast_campaign.h; the campaign retrains as runs arrive);
   or, with 'convergence' in place of the model file, into the model-free
   convergence estimator (forecast_convergence.h), and report (or stop at) the
   first check where the run's own statistics pin its mean within tolerance.

   The fix is thin on purpose: it parses arguments, samples its input, hands the
   number to the simforecast C ABI and reports what comes back. All numerics
   live in the Rust library (include/simforecast.h).

   Used as a plugin (forecastplugin.cpp) or compiled into LAMMPS (the FixStyle
   block below is what LAMMPS' style_fix.h generator picks up).
------------------------------------------------------------------------- */

#ifdef FIX_CLASS
// clang-format off
FixStyle(forecast,FixForecast);
// clang-format on
#else

#ifndef LMP_FIX_FORECAST_H
#define LMP_FIX_FORECAST_H

#include "fix.h"

#include "forecast_campaign.h"
#include "forecast_convergence.h"
#include "forecast_input.h"
#include "forecast_model.h"
#include "forecast_report.h"
#include "simforecast.h"

#include <memory>
#include <string>
#include <vector>

namespace LAMMPS_NS {

class FixForecast : public Fix {
 public:
  FixForecast(class LAMMPS *, int, char **);
  ~FixForecast() override;
  int setmask() override;
  void init() override;
  void setup(int) override;
  void end_of_step() override;
  void post_run() override;
  double compute_vector(int) override;
  void write_restart(FILE *) override;
  void restart(char *) override;

  // Number of elements of the global vector (documented in doc/fix_forecast.rst).
  static constexpr int NVECTOR = 23;

 private:
  enum Action { HALT, ADVISE };
  enum After { CONTINUE, STOP };
  // What a non-finite sample does (keyword nonfinite, modelled on fix halt's 'error').
  enum NonFinite { NONFINITE_ERROR, NONFINITE_STOP, NONFINITE_CONTINUE };
  // Value of output element [20] before any estimate of mu; after, it is the estimate's
  // SF_EVIDENCE_* (0 = the model's forecast, 1 = the run's own statistics).
  static constexpr int EVIDENCE_NONE = -1;
  // Value of output element [9]: why this fix ended a run, if it did.
  enum StopReason {
    NOT_STOPPED = 0,
    HALTED_IRRELEVANT = 1,
    STOPPED_AFTER_FORECAST = 2,
    STOPPED_NONFINITE = 3
  };

  std::unique_ptr<ForecastInput> trace_input;    // what is sampled every N steps
  // Exactly one of the two modes: a model file, or 'convergence' in its place (model-free).
  std::unique_ptr<ForecastModel> model;
  std::unique_ptr<ForecastConvergence> convergence;
  // Campaign mode ('campaign DIR' in place of the model file): the campaign directory, whose
  // newest model (if any yet) is `model`; without one the fix only collects the frames.
  std::unique_ptr<ForecastCampaign> campaign;
  std::string campaign_dir, run_name;
  // Campaign mode: the restart file the input script writes after a halt (keyword restart; the
  // halted record names it), whether this fix was restored from the restart of a halted run
  // (it then resumes it: acts on nothing, records the run finished), and the step of the
  // trace's frame 0 (frame k is sampled at origin + k N), kept across the restart.
  std::string restart_file;
  bool resumed;
  bigint trace_origin;

  // keywords
  std::string model_path;
  std::string file_path;
  int action, after, nonfinite, message_flag, check_flag;
  // Model mode: the 'tolerance' keyword (NaN: the model's own), and the tolerance in force on
  // every rank (NaN: none, the model forecasts at any width).
  double tolerance_keyword;
  double tolerance_in_force;
  FILE *fp;    // decision log, rank 0 only

  // decision record, identical on all ranks (source of the global vector and restart data)
  int32_t state;
  uint64_t frames;
  sf_event last_screen;      // flags 0 until the first screening decision
  sf_event last_forecast;    // flags 0 until the first forecast
  sf_event last_event;       // the last decision of any kind
  bigint last_step;          // step of the last decision, -1 if none
  int stop_reason;           // StopReason
  bool timeout_forced;       // this fix forced the timer's timeout in the current run
  // Step of the first non-finite sample, -1 if none. The trace has a hole there (frame k would
  // no longer be the sample of step k*N), so after it the fix samples and decides nothing more
  // on this trace, whatever 'nonfinite' let the run do.
  bigint nonfinite_step;
  // Convergence mode: the last check (has_estimate 0 until the first estimate).
  sf_convergence_result last_check;

  void parse_keywords(int, int, char **);
  void open_file();
  void model_step(double);
  void collect_step(double);
  forecast_report::Response campaign_response(const sf_event &);
  void campaign_record();
  void campaign_write_restart(FILE *);
  void campaign_restore(const char *);
  static bool is_campaign_record(const char *);
  void convergence_step(double);
  void handle_event(const sf_event &);
  void handle_nonfinite(double);
  void report(const sf_event &, forecast_report::Response);
  void end_run(int);
  const char *nonfinite_setting() const;
  std::string tolerance_text() const;
  void release();
};

}    // namespace LAMMPS_NS

#endif
#endif
