/* -*- c++ -*- ----------------------------------------------------------
   The model-free mode of fix forecast ('convergence' in place of the model
   file): every frame goes into the simforecast convergence estimator
   (sf_convergence_*, rank 0 only), which is checked every 'every' frames from
   'min' frames on. This class owns the mode's keywords, the estimator, one
   push (and check, when due) with its outcome broadcast to every rank, and the
   mode's restart record. Every number comes from the library.

   A converged check is "converged by own statistics": nothing calibrates it
   against finished runs, so the fix says so wherever it reports one
   (doc/fix_forecast.rst).
------------------------------------------------------------------------- */

#ifndef LMP_FORECAST_CONVERGENCE_H
#define LMP_FORECAST_CONVERGENCE_H

#include "pointers.h"

#include "simforecast.h"

#include <cstdint>
#include <string>
#include <vector>

namespace LAMMPS_NS {

class ForecastConvergence : protected Pointers {
 public:
  // What rank 0 broadcasts after a push, so all ranks act identically.
  struct Outcome {
    int32_t status;                  // SF_* status of the push (or of the check) on rank 0
    int32_t checked;                 // 1: a check was made on this frame (result is valid)
    uint64_t frames;                 // frames pushed after this push
    double value;                    // the sample rank 0 pushed
    sf_convergence_result result;    // the check
  };

  // The fix's decision record in this mode, kept in the restart file with the estimator.
  struct Record {
    int64_t last_step;         // step of the last check, -1 if none
    int64_t nonfinite_step;    // step of the first non-finite sample, -1 if none
    int32_t stop_reason;       // the fix's StopReason
    int32_t state;             // SF_STATE_COLLECTING, or SF_STATE_FORECAST_READY once converged
    uint64_t frames;
    sf_convergence_result last_check;    // has_estimate 0 until the first estimate
  };

  ForecastConvergence(class LAMMPS *, class Fix *owner);
  ~ForecastConvergence() override;

  // The keywords of this mode.
  static bool is_keyword(const std::string &key);
  // Takes one of them with its value; a bad value is an error that names the allowed ones.
  void keyword(const std::string &key, const std::string &val);

  // Creates the estimator on rank 0 (collective); parameters out of their domain are an error
  // with the library's reason.
  void create();

  // Pushes rank 0's sample and, when 'watching' and a check is due, checks (collective). On a
  // failure other than a non-finite sample, 'why' holds rank 0's error text on every rank.
  Outcome push(double value, bool watching, std::string &why);

  // The settings as text: "every 50, min 0, tolerance 0.25, drift 0.125, level 0.9".
  std::string settings() const;
  double tolerance() const { return params.tolerance; }
  double drift() const { return params.drift_tolerance; }

  // The restart record: 'record' and the estimator's state (collective; the bytes are complete
  // on rank 0 only). restore() checks and loads it (collective), giving back the record.
  std::vector<char> pack(const Record &record);
  Record restore(const char *buf);
  // Whether a restart record was written by this mode (its magic).
  static bool is_record(const char *buf);

 private:
  class Fix *owner;
  sf_convergence_params params;
  bigint every;
  sf_convergence *conv;    // rank 0 only
};

}    // namespace LAMMPS_NS

#endif
