/*
 * test_main.h - the one CUnit runner of the unit tests
 *
 * A test program lists its cases in a table and returns what test_run()
 * or test_run_suite() returns: 0 when every assertion held, 1 when one
 * failed (a suite whose init failed counts), 99 when the registry could not
 * be built (automake's hard error).  The run is verbose, so a failure in
 * the log names its test.
 */
#ifndef HERALD_TEST_MAIN_H
#define HERALD_TEST_MAIN_H

#include <stddef.h>

#include <CUnit/Basic.h>

/* One test: its name in the log and its function. */
struct test_case {
    const char *name;
    CU_TestFunc fn;
};

/* One suite; init/clean run around it, setup/teardown around each case
 * (any may be NULL).  cases ends with an entry whose name is NULL. */
struct test_suite {
    const char *name;
    CU_InitializeFunc init;
    CU_CleanupFunc clean;
    CU_SetUpFunc setup;
    CU_TearDownFunc teardown;
    const struct test_case *cases;
};

/* test_run - register and run nsuites suites; 0, 1 or 99 as above */
static inline int
test_run(const struct test_suite *suites, size_t nsuites)
{
    unsigned nfail;
    size_t i;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 99;
    for (i = 0; i < nsuites; i++) {
        const struct test_case *c;
        CU_pSuite s = CU_add_suite_with_setup_and_teardown(suites[i].name, suites[i].init,
                                                           suites[i].clean, suites[i].setup,
                                                           suites[i].teardown);

        for (c = suites[i].cases; s != NULL && c->name != NULL; c++)
            if (CU_add_test(s, c->name, c->fn) == NULL)
                s = NULL;
        if (s == NULL) {
            CU_cleanup_registry();
            return 99;
        }
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    nfail = CU_get_number_of_failure_records();
    CU_cleanup_registry();
    return nfail == 0 ? 0 : 1;
}

/* test_run_suite - the common case: one suite, no per-case fixtures */
static inline int
test_run_suite(const char *name, CU_InitializeFunc init, CU_CleanupFunc clean,
               const struct test_case *cases)
{
    const struct test_suite suite = { name, init, clean, NULL, NULL, cases };

    return test_run(&suite, 1);
}

#endif
