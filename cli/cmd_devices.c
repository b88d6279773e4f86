/*
 * cmd_devices.c - "herald devices": each device, its driver and modules, and
 * where the device file defines it
 *
 *   reports (/etc/herald.conf:12)
 *     driver: file
 *     device file /usr/local/lib/herald/device-file.so
 *
 * With --json: {"devices":[{"name":…,"driver":…,"where":…,
 *               "modules":[{"kind":…,"name":…,"path":…}]}]}
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "cli.h"

/* devices_usage - help for "herald devices" */
static void
devices_usage(FILE *out)
{
    fputs("Usage: herald [-c FILE] devices [--json]\n"
          "\n"
          "List each device of the device file: its name, its driver, the modules it\n"
          "uses (driver first, then route strategy and transport) with their paths,\n"
          "and the FILE:LINE that defines it.\n"
          "\n"
          "  --json   one JSON object: {\"devices\":[{\"name\",\"driver\",\"where\",\"modules\"}]}\n",
          out);
}

/* driver_name - the name of a device's first module, its driver */
static const char *
driver_name(const struct herald_device *dev)
{
    const char *kind, *name, *path;

    if (herald_device_module(dev, 0, &kind, &name, &path) != HERALD_OK)
        return "?";
    return name;
}

/* print_text - one block per device */
static void
print_text(struct herald_context *ctx)
{
    size_t i, m;

    for (i = 0; i < herald_device_count(ctx); i++) {
        const struct herald_device *dev = herald_device_at(ctx, i);

        printf("%s (%s)\n", herald_device_name(dev), herald_device_where(dev));
        printf("  driver: %s\n", driver_name(dev));
        for (m = 0; m < herald_device_module_count(dev); m++) {
            const char *kind, *name, *path;

            if (herald_device_module(dev, m, &kind, &name, &path) == HERALD_OK)
                printf("  %s %s %s\n", kind, name, path ? path : "-");
        }
        for (m = 0; m < herald_device_note_count(dev); m++)
            printf("  note: %s\n", herald_device_note_at(dev, m));
    }
}

/* print_json - the same as one JSON object */
static void
print_json(struct herald_context *ctx)
{
    size_t i, m;

    fputs("{\"devices\":[", stdout);
    for (i = 0; i < herald_device_count(ctx); i++) {
        const struct herald_device *dev = herald_device_at(ctx, i);
        bool first = true;

        fputs(i ? ",{\"name\":" : "{\"name\":", stdout);
        cli_json_string(stdout, herald_device_name(dev));
        fputs(",\"driver\":", stdout);
        cli_json_string(stdout, driver_name(dev));
        fputs(",\"where\":", stdout);
        cli_json_string(stdout, herald_device_where(dev));
        fputs(",\"modules\":[", stdout);
        for (m = 0; m < herald_device_module_count(dev); m++) {
            const char *kind, *name, *path;

            if (herald_device_module(dev, m, &kind, &name, &path) != HERALD_OK)
                continue;
            fputs(first ? "{\"kind\":" : ",{\"kind\":", stdout);
            first = false;
            cli_json_string(stdout, kind);
            fputs(",\"name\":", stdout);
            cli_json_string(stdout, name);
            fputs(",\"path\":", stdout);
            cli_json_string(stdout, path);
            fputs("}", stdout);
        }
        fputs("],\"notes\":[", stdout);
        for (m = 0; m < herald_device_note_count(dev); m++) {
            if (m)
                fputs(",", stdout);
            cli_json_string(stdout, herald_device_note_at(dev, m));
        }
        fputs("]}", stdout);
    }
    fputs("]}\n", stdout);
}

/* cmd_devices - list the devices of the device file */
int
cmd_devices(int argc, char **argv, const struct cli_globals *g)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 },
    };
    struct herald_context *ctx = NULL;
    bool json = false;
    int c, rc;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        if (c == 'h') {
            devices_usage(stdout);
            return EX_OK;
        } else if (c == 'j') {
            json = true;
        } else {
            return cli_usage_error("devices", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("devices", "unexpected argument '%s'", argv[optind]);
    rc = cli_open(g, &ctx);
    if (rc != EX_OK)
        return rc;
    if (json)
        print_json(ctx);
    else
        print_text(ctx);
    herald_close(&ctx);
    if (fflush(stdout) != 0)
        return EX_IOERR;
    return EX_OK;
}
