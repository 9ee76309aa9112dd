/* ----------------------------------------------------------------------
   fix forecast: its input, see forecast_input.h.

   Conventions follow LAMMPS' fix ave/time (global inputs v_/c_/f_, compute
   invocation bookkeeping, output frequency checks) and fix halt.
------------------------------------------------------------------------- */

#include "forecast_input.h"

#include "compute.h"
#include "error.h"
#include "fix.h"
#include "input.h"
#include "modify.h"
#include "update.h"
#include "utils.h"
#include "variable.h"

#include <string>

using namespace LAMMPS_NS;

/* ---------------------------------------------------------------------- */

ForecastInput::ForecastInput(LAMMPS *lmp, Fix *fix, const char *text) :
    Pointers(lmp), owner(fix), kind(VARIABLE), index(0), ivar(-1), icompute(nullptr),
    ifix(nullptr)
{
  parse(text);
}

/* ----------------------------------------------------------------------
   parse v_name | c_ID | c_ID[I] | f_ID | f_ID[I]
------------------------------------------------------------------------- */

void ForecastInput::parse(const char *text)
{
  text_ = text;
  const std::string s = text;
  const auto bad = [&](const std::string &why) {
    error->all(FLERR,
               "Illegal fix forecast input '{}': {}. Expected v_name, c_ID, c_ID[I], f_ID or "
               "f_ID[I] (a global scalar, or element I of a global vector)",
               s, why);
  };
  if (s.size() < 3 || s[1] != '_' || (s[0] != 'v' && s[0] != 'c' && s[0] != 'f'))
    bad("unknown kind of input");
  kind = (s[0] == 'v') ? VARIABLE : ((s[0] == 'c') ? COMPUTE : FIX);

  std::string rest = s.substr(2);
  const auto lb = rest.find('[');
  if (lb != std::string::npos) {
    if (rest.back() != ']') bad("missing ']'");
    const std::string digits = rest.substr(lb + 1, rest.size() - lb - 2);
    if (!utils::is_integer(digits)) bad("the index must be an integer");
    index = std::stoi(digits);
    if (index < 1) bad("the index must be 1 or larger");
    rest = rest.substr(0, lb);
  }
  if (rest.empty()) bad("empty name");
  if (kind == VARIABLE && index > 0)
    bad("use an equal-style variable for one element of a vector");
  name_ = rest;
}

/* ----------------------------------------------------------------------
   find and check the input; in_init: also check what depends on other fixes
------------------------------------------------------------------------- */

void ForecastInput::resolve(bool in_init)
{
  if (kind == VARIABLE) {
    ivar = input->variable->find(name_.c_str());
    if (ivar < 0)
      error->all(FLERR, "Variable name {} for fix forecast {} does not exist", name_, owner->id);
    if (input->variable->equalstyle(ivar) == 0)
      error->all(FLERR,
                 "Fix forecast {} variable {} is not equal-style: the input must be a global "
                 "scalar",
                 owner->id, name_);
  } else if (kind == COMPUTE) {
    icompute = modify->get_compute_by_id(name_);
    if (!icompute)
      error->all(FLERR, "Compute ID {} for fix forecast {} does not exist", name_, owner->id);
    if (index == 0 && icompute->scalar_flag == 0)
      error->all(FLERR, "Fix forecast {}: compute {} does not calculate a global scalar",
                 owner->id, name_);
    if (index > 0 && icompute->vector_flag == 0)
      error->all(FLERR, "Fix forecast {}: compute {} does not calculate a global vector",
                 owner->id, name_);
    if (index > 0 && icompute->size_vector_variable == 0 && index > icompute->size_vector)
      error->all(FLERR,
                 "Fix forecast {}: compute {} vector has {} elements, index {} is out of range",
                 owner->id, name_, icompute->size_vector, index);
  } else {
    ifix = modify->get_fix_by_id(name_);
    if (!ifix) error->all(FLERR, "Fix ID {} for fix forecast {} does not exist", name_, owner->id);
    if (ifix == owner)
      error->all(FLERR, "Fix forecast {} cannot use its own output as input", owner->id);
    if (index == 0 && ifix->scalar_flag == 0)
      error->all(FLERR, "Fix forecast {}: fix {} does not calculate a global scalar", owner->id,
                 name_);
    if (index > 0 && ifix->vector_flag == 0)
      error->all(FLERR, "Fix forecast {}: fix {} does not calculate a global vector", owner->id,
                 name_);
    if (index > 0 && ifix->size_vector_variable == 0 && index > ifix->size_vector)
      error->all(FLERR, "Fix forecast {}: fix {} vector has {} elements, index {} is out of range",
                 owner->id, name_, ifix->size_vector, index);
    if (owner->nevery % ifix->global_freq)
      error->all(FLERR,
                 "Fix forecast {}: fix {} is not computed at compatible times: N = {} must be a "
                 "multiple of its output interval {}",
                 owner->id, name_, owner->nevery, ifix->global_freq);
    if (in_init) {
      // Fixes run end_of_step() in the order they were defined: reading a fix defined later
      // would give its value from the previous interval, one frame late.
      const int mine = modify->find_fix(owner->id);
      const int theirs = modify->find_fix(name_);
      if (theirs > mine && (ifix->setmask() & FixConst::END_OF_STEP))
        error->all(FLERR,
                   "Fix forecast {} reads fix {}, which is defined after it and updates at the "
                   "end of a step: define fix {} before fix forecast {}",
                   owner->id, name_, name_, owner->id);
    }
  }
}

/* ----------------------------------------------------------------------
   evaluate the input on this step (collective: every rank calls it)
------------------------------------------------------------------------- */

double ForecastInput::sample()
{
  // computes used by the input may be invoked here, so bracket with clear/add like fix halt
  modify->clearstep_compute();

  double value = 0.0;
  if (kind == VARIABLE) {
    value = input->variable->compute_equal(ivar);
  } else if (kind == COMPUTE) {
    if (index == 0) {
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
      if (icompute->size_vector_variable && index > icompute->size_vector)
        error->all(FLERR,
                   "Fix forecast {}: compute {} vector has {} elements on step {}, index {} is "
                   "out of range",
                   owner->id, name_, icompute->size_vector, update->ntimestep, index);
      value = icompute->vector[index - 1];
    }
  } else {
    value = (index == 0) ? ifix->compute_scalar() : ifix->compute_vector(index - 1);
  }

  modify->addstep_compute(update->ntimestep + owner->nevery);
  return value;
}
