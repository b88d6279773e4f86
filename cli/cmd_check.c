/*
 * cmd_check.c - "herald check": validate the device file and load its modules
 *
 * Prints "FILE: OK, N devices" on stdout, then each device's notes (which
 * hops authenticate, ...) as "  DEVICE: NOTE", or "FILE:LINE: message" on
 * stderr and exits 78 (69 when a module itself is unusable).
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

/* check_usage - help for "herald check" */
static void
check_usage(FILE *out)
{
    fputs("Usage: herald [-c FILE] check\n"
          "\n"
          "Read the device file, validate every option, load every module it names\n"
          "and open every device.  Nothing is sent.\n"
          "Prints \"FILE: OK, N devices\" and under it what each device noted when\n"
          "it opened (\"  DEVICE: NOTE\": which hops authenticate, ...), or\n"
          "\"FILE:LINE: message\" on stderr and exits 78 (configuration error) or\n"
          "69 (a module is unusable).\n",
          out);
}

/* cmd_check - validate the device file */
int
cmd_check(int argc, char **argv, const struct cli_globals *g)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct herald_context *ctx = NULL;
    size_t n, i, k;
    int c, rc;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        if (c == 'h') {
            check_usage(stdout);
            return EX_OK;
        }
        return cli_usage_error("check", "unknown option '%s'", argv[optind - 1]);
    }
    if (optind < argc)
        return cli_usage_error("check", "unexpected argument '%s'", argv[optind]);
    rc = cli_open(g, &ctx);
    if (rc != EX_OK)
        return rc;
    n = herald_device_count(ctx);
    printf("%s: OK, %zu device%s\n", g->config_path, n, n == 1 ? "" : "s");
    for (i = 0; i < n; i++) {
        const struct herald_device *dev = herald_device_at(ctx, i);

        for (k = 0; k < herald_device_note_count(dev); k++)
            printf("  %s: %s\n", herald_device_name(dev), herald_device_note_at(dev, k));
    }
    herald_close(&ctx);
    return EX_OK;
}
