/*
 * check.h: a tiny test harness. Each test file defines test functions, registers them in
 * main() with RUN(fn), and ends with `return check_summary();`, which prints the plain
 * closing line "N passed, N failed" and returns non-zero if any check failed.
 *
 * CHECK(cond) and CHECK_EQ(a, b) record a failure with file, line and the values, and let
 * the test go on; REQUIRE(cond) also returns from the current test function.
 */
#ifndef SYNACK_CHECK_H
#define SYNACK_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check_tests_passed, check_tests_failed, check_current_failed;
static const char *check_current_name;

#define CHECK(cond)                                                                         \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "%s:%d: %s: check failed: %s\n", __FILE__, __LINE__,          \
                    check_current_name, #cond);                                             \
            check_current_failed = 1;                                                       \
        }                                                                                   \
    } while (0)

#define CHECK_EQ(a, b)                                                                      \
    do {                                                                                    \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                     \
        if (check_a_ != check_b_) {                                                         \
            fprintf(stderr, "%s:%d: %s: check failed: %s == %s (%lld != %lld)\n", __FILE__, \
                    __LINE__, check_current_name, #a, #b, check_a_, check_b_);              \
            check_current_failed = 1;                                                       \
        }                                                                                   \
    } while (0)

#define CHECK_STR(a, b)                                                                     \
    do {                                                                                    \
        const char *check_sa_ = (a), *check_sb_ = (b);                                      \
        if (strcmp(check_sa_, check_sb_) != 0) {                                            \
            fprintf(stderr, "%s:%d: %s: check failed: %s == %s (\"%s\" != \"%s\")\n",      \
                    __FILE__, __LINE__, check_current_name, #a, #b, check_sa_, check_sb_);  \
            check_current_failed = 1;                                                       \
        }                                                                                   \
    } while (0)

#define REQUIRE(cond)                                                                       \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "%s:%d: %s: required: %s\n", __FILE__, __LINE__,               \
                    check_current_name, #cond);                                             \
            check_current_failed = 1;                                                       \
            return;                                                                         \
        }                                                                                   \
    } while (0)

#define RUN(fn)                                                                             \
    do {                                                                                    \
        check_current_name = #fn;                                                           \
        check_current_failed = 0;                                                           \
        fn();                                                                               \
        if (check_current_failed) {                                                         \
            check_tests_failed++;                                                           \
            fprintf(stderr, "FAIL %s\n", #fn);                                              \
        } else {                                                                            \
            check_tests_passed++;                                                           \
            printf("ok   %s\n", #fn);                                                       \
        }                                                                                   \
    } while (0)

static inline int check_summary(void)
{
    printf("%d passed, %d failed\n", check_tests_passed, check_tests_failed);
    return check_tests_failed == 0 && check_tests_passed > 0 ? 0 : 1;
}

#endif /* SYNACK_CHECK_H */
