// The floor of "receive bytes from a TCP socket and write them to files" on this machine, measured
// without Node, Kafka framing or CRC: what no broker that stores produced bytes in files can go below.
// A forked child sends TOTAL_MB over loopback in 1 MiB sends; the parent receives and, by mode:
//   recv    recv(2) into one reused buffer only (an in-memory broker does at least this)
//   write   recv(2) + write(2) of the received bytes to NFILES files (O_APPEND), WRITE_BYTES per write,
//           moving to the next file after each (as a broker's per-partition group commits do)
//   splice  socket -> pipe -> file with splice(2): no copy through user memory on the receive side
//   direct  recv(2) into a 4 KiB-aligned buffer + O_DIRECT write(2) of whole WRITE_BYTES pieces: no page
//           cache at all (the device reads the buffer), the write returns once the device has the bytes
// Prints the parent's (receiver's) user and system CPU per GB received. Build and run:
//   cc -O2 -o /tmp/recv-write-floor bench/kafka/recv-write-floor.c
//   /tmp/recv-write-floor MODE [TOTAL_MB=300] [NFILES=64] [WRITE_BYTES=1048576] [DIR=/tmp/recv-write-floor.d]
// bench/kafka/recv-write-floor.mjs does both, next to the librdkafka mock's produce CPU per GB.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READ_BYTES (1 << 20)

static double seconds(struct timeval t) { return t.tv_sec + t.tv_usec / 1e6; }

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "recv";
  long total = (argc > 2 ? atol(argv[2]) : 300) * 1000000L;
  int nfiles = argc > 3 ? atoi(argv[3]) : 64;
  long wbytes = argc > 4 ? atol(argv[4]) : 1048576;
  const char *dir = argc > 5 ? argv[5] : "/tmp/recv-write-floor.d";
  int writing = strcmp(mode, "recv") != 0;
  int splicing = strcmp(mode, "splice") == 0;
  int direct = strcmp(mode, "direct") == 0;
  if (writing && strcmp(mode, "write") != 0 && !splicing && !direct) {
    fprintf(stderr, "mode must be recv, write, splice or direct\n");
    return 2;
  }
  if (nfiles < 1 || nfiles > 4096 || wbytes < 1) return 2;

  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 1) || getsockname(ls, (struct sockaddr *)&a, &al)) die("listen");
  pid_t child = fork();
  if (child == 0) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr *)&a, sizeof a)) die("connect");
    char *b = malloc(1 << 20);
    memset(b, 'a', 1 << 20);
    for (long left = total; left > 0;) {
      ssize_t n = send(s, b, left < (1 << 20) ? left : (1 << 20), 0);
      if (n <= 0) die("send");
      left -= n;
    }
    close(s);
    _exit(0);
  }
  int s = accept(ls, NULL, NULL);
  if (s < 0) die("accept");

  int *fds = calloc(nfiles, sizeof *fds);
  if (writing) {
    mkdir(dir, 0755);
    char path[4096];
    // splice(2) refuses O_APPEND files; each file is written from its start either way.
    int flags = O_WRONLY | O_CREAT | O_TRUNC | (splicing ? 0 : O_APPEND) | (direct ? O_DIRECT : 0);
    for (int i = 0; i < nfiles; i++) {
      snprintf(path, sizeof path, "%s/%d", dir, i);
      if ((fds[i] = open(path, flags, 0644)) < 0) die("open");
    }
  }
  int pipefd[2];
  if (splicing) {
    if (pipe(pipefd)) die("pipe");
    fcntl(pipefd[0], F_SETPIPE_SZ, 1 << 20);
  }
  if (direct && (wbytes % 4096 != 0 || wbytes > READ_BYTES)) {
    fprintf(stderr, "direct needs WRITE_BYTES a multiple of 4096, at most %d\n", READ_BYTES);
    return 2;
  }
  char *buf = aligned_alloc(4096, READ_BYTES);

  struct rusage r0, r1;
  getrusage(RUSAGE_SELF, &r0);
  double t0 = now();
  long got = 0, inFile = 0;
  int f = 0;
  while (got < total) {
    ssize_t n;
    if (splicing) {
      n = splice(s, NULL, pipefd[1], NULL, wbytes - inFile, SPLICE_F_MOVE);
      if (n <= 0) break;
      for (ssize_t left = n; left > 0;) {
        ssize_t k = splice(pipefd[0], NULL, fds[f], NULL, left, SPLICE_F_MOVE);
        if (k <= 0) die("splice");
        left -= k;
      }
      inFile += n;
    } else if (direct) {
      // Whole aligned pieces only: fill one, then write it.
      n = 0;
      while (n < wbytes && got + n < total) {
        ssize_t k = recv(s, buf + n, wbytes - n, 0);
        if (k <= 0) break;
        n += k;
      }
      if (n <= 0) break;
      long len = (n + 4095) / 4096 * 4096;
      if (write(fds[f], buf, len) != len) die("write");
      f = (f + 1) % nfiles;
    } else {
      n = recv(s, buf, READ_BYTES, 0);
      if (n <= 0) break;
      for (long off = 0; writing && off < n;) {
        long w = wbytes - inFile < n - off ? wbytes - inFile : n - off;
        if (write(fds[f], buf + off, w) != w) die("write");
        off += w;
        inFile += w;
        if (inFile >= wbytes) inFile = 0, f = (f + 1) % nfiles;
      }
    }
    if (splicing && inFile >= wbytes) inFile = 0, f = (f + 1) % nfiles;
    got += n;
  }
  double t1 = now();
  getrusage(RUSAGE_SELF, &r1);
  double gb = got / 1e9;
  double user = (seconds(r1.ru_utime) - seconds(r0.ru_utime)) / gb;
  double sys = (seconds(r1.ru_stime) - seconds(r0.ru_stime)) / gb;
  printf("%s files=%d write=%ld MB/s=%.0f user=%.3f sys=%.3f cpu=%.3f\n", mode, writing ? nfiles : 0, writing ? wbytes : 0, got / 1e6 / (t1 - t0), user, sys, user + sys);
  waitpid(child, NULL, 0);
  return got == total ? 0 : 1;
}
