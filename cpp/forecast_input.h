/* -*- c++ -*- ----------------------------------------------------------
   The input of fix forecast: one global scalar of the running simulation,
   given as v_name, c_ID, c_ID[I], f_ID or f_ID[I] (as fix ave/time takes
   it). Parsed at the fix command, looked up again at every init (IDs may
   have been redefined), evaluated on every rank at each sampling step.
   Every error names the fix that owns the input.
------------------------------------------------------------------------- */

#ifndef LMP_FORECAST_INPUT_H
#define LMP_FORECAST_INPUT_H

#include "pointers.h"

#include <string>

namespace LAMMPS_NS {

class ForecastInput : protected Pointers {
 public:
  // Parses text; a malformed input is an error at the fix command.
  ForecastInput(class LAMMPS *, class Fix *owner, const char *text);

  // Find the variable, compute or fix and check that it gives a global scalar at the owner's
  // sampling steps; in_init: also check what depends on the order of fixes.
  void resolve(bool in_init);

  // The value on this step (collective: every rank calls it).
  double sample();

  // The input as given, e.g. c_press[4].
  const std::string &text() const { return text_; }

 private:
  enum Kind { VARIABLE, COMPUTE, FIX };

  class Fix *owner;    // the fix forecast reading this input (its ID and N)
  std::string text_;
  int kind;
  std::string name_;    // variable name, compute or fix ID
  int index;            // 0: scalar, I >= 1: element I of a global vector
  int ivar;
  class Compute *icompute;
  class Fix *ifix;

  void parse(const char *);
};

}    // namespace LAMMPS_NS

#endif
