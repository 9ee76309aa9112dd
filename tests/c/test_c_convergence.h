/* The C ABI's model-free convergence mode, tested as part of test_c_api (test_c_convergence.c). */
#ifndef TEST_C_CONVERGENCE_H
#define TEST_C_CONVERGENCE_H

#include "sftest.h"

/* Runs every convergence test; fixture_dir holds convergence.json (make_fixture.cmake). */
void test_convergence(const sft_fixture *fx, const char *fixture_dir);

#endif /* TEST_C_CONVERGENCE_H */
