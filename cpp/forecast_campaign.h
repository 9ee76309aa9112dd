/* -*- c++ -*- ----------------------------------------------------------
   The campaign mode of fix forecast ('campaign DIR name RUNID' in place of the
   model file): the run records itself into a campaign directory, and the
   campaign retrains in-process when enough new runs have finished.

   The training code lives in libsimforecast_campaign.so (the campaign crate's
   C ABI, include/simforecast_campaign.h), loaded at run time (dlopen) by rank 0
   only, only in this mode: the fix and libsimforecast.a carry no training code.
   Only rank 0 touches DIR; what the other ranks need (the tolerance, the model
   version and file, each verdict, errors) is broadcast. Every decision and
   record is the library's; this file translates and reports.
------------------------------------------------------------------------- */

#ifndef LMP_FORECAST_CAMPAIGN_H
#define LMP_FORECAST_CAMPAIGN_H

#include "pointers.h"

#include "simforecast.h"
#include "simforecast_campaign.h"

#include <cstdint>
#include <string>
#include <vector>

namespace LAMMPS_NS {

class ForecastCampaign : protected Pointers {
 public:
  // How a run ended, for the record.
  enum class End { FINISHED, HALTED, STOPPED_AT_FORECAST };

  ForecastCampaign(class LAMMPS *, class Fix *owner, const std::string &dir,
                   const std::string &run_id);
  ~ForecastCampaign() override;

  // Loads the library and opens the campaign for frames of `column` every N steps
  // (collective; a failure is an error naming the directory, or where the library was looked
  // for). Afterwards tolerance(), model_version() and model_path() hold on every rank.
  void open(const std::string &column);

  double tolerance() const { return tolerance_value; }
  // The newest model's version (0: none yet, the run only collects) and file.
  uint32_t model_version() const { return version; }
  const std::string &model_path() const { return path; }
  // The campaign in one line (rank 0; empty elsewhere).
  const std::string &describe() const { return description; }

  // A run recorded as halted was opened to be resumed: its frames up to the halt (0: a new
  // run), the same on every rank. A resumed run acts on nothing; record() then takes the
  // frames since the resume as a finished run, replacing the halted record (doc/campaign.md).
  uint64_t resuming_from() const { return halted_frames; }

  // The restart file the input script writes after a halt (keyword restart): the halted
  // run's record names it, and `simforecast campaign status` lists it.
  void set_restart_file(const std::string &file) { restart_file = file; }

  // Keeps rank 0's sample for the record.
  void sample(double value);

  // Whether the run obeys the model's decision `ev` (a halt when `halt`, else a forecast):
  // SF_CAMPAIGN_OBEY, _AUDIT, _ADVISORY or _IGNORE, the same on every rank (collective).
  // After an audit or advisory verdict the run goes to its end and the decision is recorded
  // with it; overridden() is then true.
  int32_t judge(const sf_event &ev, bool halt);
  bool overridden() const { return override_verdict != SF_CAMPAIGN_IGNORE; }
  int32_t override_verdict_value() const { return override_verdict; }

  // Records the run (rank 0 writes DIR) and retrains when due; failures are warnings, and a
  // run that cannot be recorded is written to a file in the working directory (collective).
  // `forecast` is the decision a run stopped at a forecast ended on.
  void record(End end, uint64_t frames, uint64_t declared, const sf_event &forecast);
  bool recorded() const { return done; }
  // The run will not be recorded (it ended without an outcome): nothing more is watched.
  void record_nothing() { done = true; }

 private:
  struct Api;
  class Fix *owner;
  std::string dir, run_id, column;
  void *library;            // rank 0 only
  Api *api;                 // rank 0 only
  sf_campaign *handle;      // rank 0 only
  std::vector<double> values;    // rank 0 only
  double tolerance_value;
  uint32_t version;
  std::string path, description, restart_file;
  uint64_t halted_frames;
  sf_campaign_decision overridden_decision;
  int32_t override_verdict;
  bool done;

  bool load_library(std::string &why);
  std::string fallback(End end, uint64_t frames, uint64_t declared, const sf_event &forecast,
                       const std::string &why);
};

}    // namespace LAMMPS_NS

#endif
