/*
 * test_servers.h - start and stop the real SMTP servers the C tests talk to
 *
 * Shared by test_smtp_session.c and test_smtp_tls.c.  A server is a child
 * process (a Python script, smtp-sink) whose stdout is on a pipe; it is ready
 * when it prints READY, or, for programs that print nothing, when its port
 * accepts a connection.  Every wait is bounded in time.
 */
#ifndef HERALD_TEST_SERVERS_H
#define HERALD_TEST_SERVERS_H

#include <stdint.h>
#include <sys/types.h>

struct test_server {
    pid_t pid;
    int out_fd;                       /* its stdout, for READY */
};

/* test_now_ms - monotonic milliseconds */
uint64_t test_now_ms(void);

/* test_port_open - true when something accepts connections on ip:port (IPv4) */
int test_port_open(const char *ip, uint16_t port);

/*
 * test_server_start - run argv[0] with argv, stdout on a pipe; wait at most
 * wait_ms for READY (by_port 0) or for ip:port to accept (by_port 1).
 * 1 when ready; 0 after a message on stderr (the caller fails its setup).
 */
int test_server_start(struct test_server *sv, char *const argv[], const char *ip,
                      uint16_t port, int by_port, uint64_t wait_ms);

/* test_server_stop - SIGTERM, then SIGKILL if it lingers past 5 s */
void test_server_stop(struct test_server *sv);

#endif
