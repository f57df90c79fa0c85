// Helpers for the deployment tests: run a shell command and capture it, read the shipped deploy/
// files, and make test copies of them with a few literal substitutions (checked to apply, so a
// test never silently runs a config the real file no longer resembles).
#ifndef TESTS_DEPLOY_DEPLOY_SUPPORT_H_
#define TESTS_DEPLOY_DEPLOY_SUPPORT_H_

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace bot::testing {

inline std::string DeployPath(const std::string& relative) {
  return std::string(RAHNAMA_SOURCE_DIR) + "/deploy/" + relative;
}

struct CommandResult {
  int exit_code = -1;  // -1: did not exit normally
  std::string output;  // stdout and stderr, interleaved
};

// Runs `command` with /bin/sh, stderr folded into stdout.
inline CommandResult RunCommand(const std::string& command) {
  CommandResult r;
  FILE* p = popen(("( " + command + " ) 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = pclose(p);
  if (status != -1 && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  return r;
}

// Single-quotes `s` for /bin/sh.
inline std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The absolute path of `program` on PATH (or where Debian puts it), or "" if it is not installed.
inline std::string Which(const std::string& program) {
  CommandResult r = RunCommand("command -v " + program + " || { test -x /usr/sbin/" + program +
                               " && echo /usr/sbin/" + program + "; }");
  std::string path = r.output.substr(0, r.output.find('\n'));
  return r.exit_code == 0 ? path : "";
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

// Replaces every `from` in `text` with `to`; returns how many were replaced.
inline int ReplaceAll(std::string& text, const std::string& from, const std::string& to) {
  int count = 0;
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
    ++count;
  }
  return count;
}

// A port on 127.0.0.1 that was free a moment ago (for programs that cannot report the one they
// bound, such as nginx).
inline int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

}  // namespace bot::testing

#endif  // TESTS_DEPLOY_DEPLOY_SUPPORT_H_
