// cpp-httplib 0.11.4 (Debian) tuned like the peer-bench "A tuned" row and like rahnama's
// Server::Impl::Listen: TCP_NODELAY on, listen backlog raised to 1024 on the bound socket,
// a 128-thread pool, keep-alive of 1000 requests, and no SO_REUSEPORT (a taken port fails to bind).
#ifndef BENCH_TUNED_HTTPLIB_H_
#define BENCH_TUNED_HTTPLIB_H_

#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

namespace bench {

// Binds `svr` to host:port with the tuned settings; returns false when the port is taken.
inline bool TuneAndBind(httplib::Server& svr, const std::string& host, int port, int threads = 128) {
  int* listen_fd = new int(-1);  // lives as long as the process; set by the socket-options hook
  svr.set_socket_options([listen_fd](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);  // no SO_REUSEPORT
    *listen_fd = sock;
  });
  svr.set_tcp_nodelay(true);                // trap 1: Nagle + delayed ACK = +40 ms per response
  svr.set_keep_alive_max_count(1000);       // trap 3: 5 requests per connection by default
  svr.set_keep_alive_timeout(30);
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };  // trap 3: 8 threads
  if (!svr.bind_to_port(host.c_str(), port)) {
    std::fprintf(stderr, "cannot bind %s:%d (port taken?)\n", host.c_str(), port);
    return false;
  }
  if (*listen_fd >= 0) ::listen(*listen_fd, 1024);  // trap 2: backlog 5 compiled into the .so
  return true;
}

}  // namespace bench

#endif  // BENCH_TUNED_HTTPLIB_H_
