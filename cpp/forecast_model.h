/* -*- c++ -*- ----------------------------------------------------------
   The model mode of fix forecast (a model file written by simforecast train):
   the model and its monitor (rank 0 only), loaded and checked against N, one
   push with its outcome broadcast to every rank, the tolerance in force
   (keyword tolerance, set on the monitor and known on every rank), and the
   mode's restart record (it embeds sf_event, so a record written with
   another C ABI's sf_event is refused by its event size). Every decision
   comes from the library.
------------------------------------------------------------------------- */

#ifndef LMP_FORECAST_MODEL_H
#define LMP_FORECAST_MODEL_H

#include "pointers.h"

#include "simforecast.h"

#include <cstdint>
#include <string>
#include <vector>

namespace LAMMPS_NS {

class ForecastModel : protected Pointers {
 public:
  // What rank 0 broadcasts after every push, so all ranks act identically.
  struct Outcome {
    int32_t status;    // SF_* status of sf_monitor_push on rank 0
    int32_t state;     // SF_STATE_* after the push
    uint64_t frames;   // frames seen by the monitor after the push
    double value;      // the sample rank 0 pushed
    sf_event event;    // the decision (flags 0: none)
  };

  // The fix's decision record in this mode, kept in the restart file with the monitor.
  struct Record {
    int64_t last_step;         // step of the last decision, -1 if none
    int64_t nonfinite_step;    // step of the first non-finite sample, -1 if none
    int32_t stop_reason;       // the fix's StopReason
    int32_t state;             // SF_STATE_*
    uint64_t frames;
    sf_event last_screen, last_forecast, last_event;    // flags 0: none yet
  };

  ForecastModel(class LAMMPS *, class Fix *owner, const std::string &path);
  ~ForecastModel() override;

  // Loads the model on rank 0 and, with check_spacing, requires its frame spacing to be N
  // (collective; a failure is an error naming the file and the reason). A finite 'tolerance'
  // is set on the monitor (an error naming the range the model accepts when it refuses it);
  // NaN keeps the model's, and so does a tolerance the model refuses when keep_own_if_refused
  // (campaign mode: the campaign judges forecasts by its own tolerance anyway).
  void load(bool check_spacing, double tolerance, bool keep_own_if_refused = false);

  // The tolerance in force (relative half-width; NaN: none), the same on every rank.
  double tolerance() const { return tolerance_in_force; }

  // The model card (rank 0 only; "(no description)" elsewhere or on failure).
  std::string describe() const;

  // Pushes rank 0's sample into the monitor (collective). On a failure other than a non-finite
  // sample, 'why' holds rank 0's error text on every rank.
  Outcome push(double value, std::string &why);

  // The restart record: 'record' and the monitor state (collective; the bytes are complete on
  // rank 0 only). restore() checks and loads it (collective), giving back the record.
  std::vector<char> pack(const Record &record);
  Record restore(const char *buf);
  // Whether a restart record was written by this mode (its magic).
  static bool is_record(const char *buf);

 private:
  class Fix *owner;
  std::string path;
  sf_model *model;        // rank 0 only
  sf_monitor *monitor;    // rank 0 only
  double tolerance_in_force;
};

}    // namespace LAMMPS_NS

#endif
