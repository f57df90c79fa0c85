// The systemd units in deploy/: systemd's own checker accepts them, the sandbox the issue asks
// for is there, and the sandbox fits the real binary (every system call, socket family and file
// write the server makes in a session is one the unit allows).
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "tests/deploy/deploy_support.h"
#include "tests/support/harness.h"

extern char** environ;

namespace bot::testing {
namespace {

const char* kUnits[] = {"rahnama.service", "rahnama-backup.service", "rahnama-backup.timer"};

// "Section.Key" -> every value it is given, in order (a unit may repeat a key).
using UnitKeys = std::map<std::string, std::vector<std::string>>;

UnitKeys ParseUnit(const std::string& text) {
  UnitKeys keys;
  std::istringstream in(text);
  std::string line, section;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      section = line.substr(1, line.find(']') - 1);
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    keys[section + "." + line.substr(0, eq)].push_back(line.substr(eq + 1));
  }
  return keys;
}

std::string One(const UnitKeys& keys, const std::string& key) {
  auto it = keys.find(key);
  if (it == keys.end()) return "<missing>";
  if (it->second.size() != 1) return "<given " + std::to_string(it->second.size()) + " times>";
  return it->second[0];
}

std::vector<std::string> Words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// Copies of the units in `dir` whose ExecStart= points at files that exist on this machine (the
// build's binary, the source tree's script) instead of their install paths: `verify` insists
// that the executable exists. Nothing else is changed.
void WriteVerifiableCopies(const std::string& dir) {
  for (const char* unit : kUnits) {
    std::string text = ReadFile(DeployPath(unit));
    ReplaceAll(text, "ExecStart=/usr/local/bin/rahnama-backup.sh", "ExecStart=" + DeployPath("rahnama-backup.sh"));
    ReplaceAll(text, "ExecStart=/usr/local/bin/rahnama ", std::string("ExecStart=") + RAHNAMA_BINARY + " ");
    WriteFile(dir + "/" + unit, text);
  }
}

std::string SystemdAnalyzeOrSkipReason() {
  const std::string path = Which("systemd-analyze");
  return path;
}

TEST(SystemdUnitsTest, SystemdAnalyzeVerifyAcceptsEveryUnit) {
  if (SystemdAnalyzeOrSkipReason().empty())
    GTEST_SKIP() << "systemd-analyze is not installed (Debian package: systemd); the units were NOT verified";
  TempDir dir;
  WriteVerifiableCopies(dir.path().string());
  std::string cmd = "systemd-analyze verify --man=no";
  for (const char* unit : kUnits) cmd += " " + ShellQuote(dir.File(unit));
  CommandResult r = RunCommand(cmd);
  if (r.output.find("Failed to initialize manager") != std::string::npos ||
      r.output.find("Failed to setup working directory") != std::string::npos)
    GTEST_SKIP() << "systemd-analyze verify cannot run in this sandbox: " << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // verify reports unknown keys, bad values and missing units as warnings with exit code 0.
  EXPECT_EQ(r.output, "") << "systemd-analyze verify complained:\n" << r.output;
}

TEST(SystemdUnitsTest, ServiceHasTheSandboxTheIssueAsksFor) {
  const UnitKeys k = ParseUnit(ReadFile(DeployPath("rahnama.service")));
  EXPECT_EQ(One(k, "Service.User"), "rahnama");
  EXPECT_EQ(One(k, "Service.Group"), "rahnama");
  EXPECT_EQ(One(k, "Service.EnvironmentFile"), "/etc/rahnama/rahnama.env");  // no "-": required
  const auto exec = Words(One(k, "Service.ExecStart"));
  ASSERT_GE(exec.size(), 2u);
  EXPECT_EQ(exec[0], "/usr/local/bin/rahnama");
  EXPECT_EQ(exec[1], "serve");
  const std::string exec_line = One(k, "Service.ExecStart");
  EXPECT_NE(exec_line.find("--db /var/lib/rahnama/"), std::string::npos) << exec_line;
  EXPECT_NE(exec_line.find("--locales /usr/local/share/rahnama/locales"), std::string::npos) << exec_line;
  EXPECT_NE(exec_line.find("--console /usr/local/share/rahnama/"), std::string::npos) << exec_line;
  EXPECT_EQ(exec_line.find("--dev"), std::string::npos) << "a production unit must not run --dev";

  EXPECT_EQ(One(k, "Service.ProtectSystem"), "strict");
  EXPECT_EQ(One(k, "Service.ReadWritePaths"), "/var/lib/rahnama");
  EXPECT_EQ(One(k, "Service.NoNewPrivileges"), "yes");
  EXPECT_EQ(One(k, "Service.PrivateTmp"), "yes");
  EXPECT_EQ(One(k, "Service.ProtectHome"), "yes");
  EXPECT_EQ(One(k, "Service.CapabilityBoundingSet"), "");  // empty: no capabilities at all
  EXPECT_EQ(One(k, "Service.AmbientCapabilities"), "");
  EXPECT_EQ(One(k, "Service.RestrictAddressFamilies"), "AF_INET AF_INET6 AF_UNIX");
  ASSERT_TRUE(k.count("Service.SystemCallFilter"));
  EXPECT_EQ(k.at("Service.SystemCallFilter")[0], "@system-service");
  EXPECT_EQ(One(k, "Service.Restart"), "on-failure");
  EXPECT_EQ(One(k, "Service.KillSignal"), "SIGTERM");
  EXPECT_NE(One(k, "Service.TimeoutStopSec"), "<missing>");
  EXPECT_EQ(One(k, "Install.WantedBy"), "multi-user.target");
}

TEST(SystemdUnitsTest, TheServeCommandLineUsesOnlyFlagsTheBinaryHas) {
  const auto exec = Words(One(ParseUnit(ReadFile(DeployPath("rahnama.service"))), "Service.ExecStart"));
  CommandResult help = RunCommand(std::string(RAHNAMA_BINARY) + " serve --help");
  ASSERT_EQ(help.exit_code, 0) << help.output;
  int flags = 0;
  for (const auto& w : exec)
    if (w.rfind("--", 0) == 0) {
      ++flags;
      EXPECT_NE(help.output.find(w + " "), std::string::npos) << "rahnama serve has no " << w << ":\n" << help.output;
    }
  EXPECT_GE(flags, 2);
}

TEST(SystemdUnitsTest, BackupRunsDailyAsTheServiceUserInTheSameSandbox) {
  const UnitKeys s = ParseUnit(ReadFile(DeployPath("rahnama-backup.service")));
  EXPECT_EQ(One(s, "Service.Type"), "oneshot");
  EXPECT_EQ(One(s, "Service.User"), "rahnama");
  EXPECT_EQ(One(s, "Service.ExecStart"), "/usr/local/bin/rahnama-backup.sh");
  EXPECT_EQ(One(s, "Service.ProtectSystem"), "strict");
  EXPECT_EQ(One(s, "Service.ReadWritePaths"), "/var/lib/rahnama");
  EXPECT_EQ(One(s, "Service.CapabilityBoundingSet"), "");
  EXPECT_EQ(One(s, "Service.NoNewPrivileges"), "yes");
  const UnitKeys t = ParseUnit(ReadFile(DeployPath("rahnama-backup.timer")));
  EXPECT_EQ(One(t, "Timer.Unit"), "rahnama-backup.service");
  EXPECT_EQ(One(t, "Timer.Persistent"), "true");
  EXPECT_NE(One(t, "Timer.OnCalendar"), "<missing>");
  EXPECT_EQ(One(t, "Install.WantedBy"), "timers.target");
  if (!SystemdAnalyzeOrSkipReason().empty()) {
    // The calendar expression fires once a day.
    CommandResult r = RunCommand("systemd-analyze calendar --iterations=2 " + ShellQuote(One(t, "Timer.OnCalendar")));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    std::regex day(R"((\d{4}-\d{2}-\d{2}) 03:15:00)");
    std::vector<std::string> days;
    for (std::sregex_iterator it(r.output.begin(), r.output.end(), day), end; it != end; ++it) days.push_back((*it)[1]);
    ASSERT_GE(days.size(), 2u) << r.output;
    EXPECT_NE(days[0], days[1]) << r.output;
  }
}

TEST(SystemdUnitsTest, SystemdRatesBothServicesExposureAsLow) {
  if (SystemdAnalyzeOrSkipReason().empty())
    GTEST_SKIP() << "systemd-analyze is not installed (Debian package: systemd); exposure NOT rated";
  TempDir dir;
  WriteVerifiableCopies(dir.path().string());
  for (const char* unit : {"rahnama.service", "rahnama-backup.service"}) {
    // Exposure runs 0 (locked down) to 10 (unsandboxed); --threshold is in tenths.
    CommandResult r = RunCommand("systemd-analyze security --offline=yes --threshold=20 " + ShellQuote(dir.File(unit)));
    EXPECT_EQ(r.exit_code, 0) << unit << " is more exposed than 2.0:\n" << r.output;
  }
}

// --- The sandbox against the real binary ------------------------------------------------------

// Group name ("@system-service") -> its entries (syscalls and nested groups), from systemd itself.
std::map<std::string, std::vector<std::string>> SyscallGroups() {
  std::map<std::string, std::vector<std::string>> groups;
  std::istringstream in(RunCommand("systemd-analyze syscall-filter").output);
  std::string line, current;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') {
      current.clear();
      continue;
    }
    if (line[0] == '@') {
      current = line;
      continue;
    }
    const auto words = Words(line);
    if (!current.empty() && !words.empty() && words[0][0] != '#') groups[current].push_back(words[0]);
  }
  return groups;
}

void Expand(const std::map<std::string, std::vector<std::string>>& groups, const std::string& entry,
            std::set<std::string>& out) {
  if (entry[0] != '@') {
    out.insert(entry);
    return;
  }
  auto it = groups.find(entry);
  if (it == groups.end()) return;
  for (const auto& e : it->second) Expand(groups, e, out);
}

// The system calls a unit's SystemCallFilter= lines allow, computed the way systemd does: the
// first allow-list sets the start, then "~" lines take calls away and plain lines add them.
std::set<std::string> AllowedSyscalls(const UnitKeys& unit) {
  const auto groups = SyscallGroups();
  std::set<std::string> allowed;
  for (const auto& value : unit.at("Service.SystemCallFilter")) {
    const bool deny = !value.empty() && value[0] == '~';
    std::set<std::string> named;
    for (const auto& w : Words(deny ? value.substr(1) : value)) Expand(groups, w, named);
    for (const auto& s : named) deny ? (void)allowed.erase(s) : (void)allowed.insert(s);
  }
  return allowed;
}

struct TraceFindings {
  std::set<std::string> syscalls;
  std::set<std::string> socket_families;
  std::vector<std::string> writes_outside;  // openat() for writing outside the allowed directory
  std::vector<std::string> write_exec_mappings;
};

TraceFindings ReadTrace(const std::string& trace_file, const std::string& writable_dir) {
  TraceFindings f;
  std::istringstream in(ReadFile(trace_file));
  const std::regex call(R"(^\d+\s+([a-z0-9_]+)\()");
  const std::regex socket(R"(socket\((AF_[A-Z0-9]+|PF_[A-Z0-9]+|\d+))");
  const std::regex open(R"(open(?:at)?\((?:AT_FDCWD, )?\"([^\"]*)\", ([A-Z_|]+))");
  std::smatch m;
  for (std::string line; std::getline(in, line);) {
    if (std::regex_search(line, m, call)) f.syscalls.insert(m[1]);
    if (std::regex_search(line, m, socket)) f.socket_families.insert(m[1]);
    if (std::regex_search(line, m, open)) {
      const std::string path = m[1], flags = m[2];
      const bool writes = flags.find("O_WRONLY") != std::string::npos || flags.find("O_RDWR") != std::string::npos ||
                          flags.find("O_CREAT") != std::string::npos;
      if (writes && path.rfind(writable_dir, 0) != 0 && path != "/dev/null") f.writes_outside.push_back(line);
    }
    if (line.find("PROT_WRITE|PROT_EXEC") != std::string::npos) f.write_exec_mappings.push_back(line);
  }
  return f;
}

// Runs `argv` under strace, as an unprivileged user like the unit's (nobody, when the tests run
// as root: as root SQLite also calls fchown(), which the real service never does).
pid_t SpawnTraced(const std::string& trace_file, std::vector<std::string> argv, const std::vector<std::string>& env) {
  std::vector<std::string> full;
  if (geteuid() == 0) full = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"};
  for (const char* a : {"strace", "-f", "-qq", "-o"}) full.push_back(a);
  full.push_back(trace_file);
  full.push_back("--");
  for (auto& a : argv) full.push_back(std::move(a));
  std::vector<char*> args;
  for (auto& a : full) args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<std::string> env_strings = env;
  for (char** e = environ; *e != nullptr; ++e) env_strings.push_back(*e);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), envp.data()) != 0) return -1;
  return pid;
}

// The traced program is strace's child running `program` (strace may fork short-lived helpers
// of its own first); signal it, not strace.
pid_t TracedChild(pid_t strace_pid, const std::string& program) {
  const std::string children_file =
      "/proc/" + std::to_string(strace_pid) + "/task/" + std::to_string(strace_pid) + "/children";
  for (int i = 0; i < 500; ++i) {
    std::istringstream children(ReadFile(children_file));
    for (long pid; children >> pid;) {
      const std::string cmdline = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
      if (cmdline.substr(0, cmdline.find('\0')) == program) return static_cast<pid_t>(pid);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

// The exit code of `pid` (128 + signal if killed), waiting at most `timeout_s`; -1 on timeout,
// after killing it (and `also_kill`, the traced program, which strace's death would leave running).
int WaitExit(pid_t pid, int timeout_s = 20, pid_t also_kill = -1) {
  int status = 0;
  for (int i = 0; i < timeout_s * 100; ++i) {
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (also_kill > 0) kill(also_kill, SIGKILL);
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

// Stops a traced run that a failed ASSERT left behind.
struct TracedRun {
  pid_t strace_pid = -1, child_pid = -1;
  bool reaped = false;
  int Wait() {
    reaped = true;
    return WaitExit(strace_pid, 20, child_pid);
  }
  ~TracedRun() {
    if (reaped || strace_pid <= 0) return;
    if (child_pid > 0) kill(child_pid, SIGKILL);
    WaitExit(strace_pid, 5, child_pid);
  }
};

void ExpectTraceFitsUnit(const TraceFindings& f, const UnitKeys& unit, const std::string& what) {
  const std::set<std::string> allowed = AllowedSyscalls(unit);
  ASSERT_GT(allowed.size(), 100u) << "could not read systemd's syscall groups";
  for (const auto& s : f.syscalls)
    EXPECT_TRUE(allowed.count(s)) << what << " calls " << s << "(), which the unit's SystemCallFilter= refuses";
  const auto families = Words(One(unit, "Service.RestrictAddressFamilies"));
  for (const auto& fam : f.socket_families)
    EXPECT_NE(std::find(families.begin(), families.end(), fam), families.end())
        << what << " opens an " << fam << " socket, which RestrictAddressFamilies= refuses";
  for (const auto& w : f.writes_outside) ADD_FAILURE() << what << " writes outside its state directory: " << w;
  for (const auto& w : f.write_exec_mappings) ADD_FAILURE() << what << " maps W+X memory (MemoryDenyWriteExecute=): " << w;
}

class SandboxFitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Which("strace").empty())
      GTEST_SKIP() << "strace is not installed (Debian package: strace); the syscall filter was NOT checked "
                      "against the binary";
    if (Which("systemd-analyze").empty())
      GTEST_SKIP() << "systemd-analyze is not installed (Debian package: systemd); cannot expand the filter";
    CommandResult probe = RunCommand("strace -qq -o /dev/null true");
    if (probe.exit_code != 0) GTEST_SKIP() << "strace cannot trace in this sandbox (ptrace refused): " << probe.output;
    // The state directory stands in for /var/lib/rahnama; the unprivileged user must write it.
    chmod(dir_.path().c_str(), 0777);
  }
  TempDir dir_;
};

TEST_F(SandboxFitTest, TheServiceSandboxAllowsEverythingTheServerDoesInASession) {
  FakeGraph graph;
  const int port = FreeLoopbackPort(), admin_port = FreeLoopbackPort();
  const std::string trace = dir_.File("serve.trace");
  // "localhost" rather than 127.0.0.1, so name resolution (nsswitch, /etc/hosts) is traced too.
  std::string graph_url = graph.url();
  ReplaceAll(graph_url, "127.0.0.1", "localhost");
  pid_t strace_pid = SpawnTraced(
      trace,
      {RAHNAMA_BINARY, "serve", "--port", std::to_string(port), "--admin-port", std::to_string(admin_port), "--db",
       dir_.File("rahnama.db"), "--locales", std::string(RAHNAMA_SOURCE_DIR) + "/locales"},
      {std::string("RAHNAMA_APP_SECRET=") + kAppSecret, std::string("RAHNAMA_VERIFY_TOKEN=") + kVerifyToken,
       std::string("RAHNAMA_WA_TOKEN=") + kWaToken, "RAHNAMA_PAGE_TOKEN=page", "RAHNAMA_GRAPH_URL=" + graph_url});
  ASSERT_GT(strace_pid, 0);
  TracedRun run{strace_pid};
  const pid_t server_pid = TracedChild(strace_pid, RAHNAMA_BINARY);
  ASSERT_GT(server_pid, 0);
  run.child_pid = server_pid;

  Webhooks hooks(port);
  bool up = false;
  for (int i = 0; i < 300 && !up; ++i) {
    auto h = hooks.Get("/healthz");
    up = h && h->status == 200;
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(up) << ReadFile(trace).substr(0, 4000);
  auto r = hooks.PostSigned(WhatsAppText("923001110001", "wamid.sandbox-1", "salam"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(graph.WaitFor(1, "923001110001", 10000)) << "no reply reached the Graph API";
  httplib::Client admin("127.0.0.1", admin_port);
  auto metrics = admin.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  ASSERT_EQ(kill(server_pid, SIGTERM), 0);
  EXPECT_EQ(run.Wait(), 0) << "the server did not stop cleanly on SIGTERM";

  const TraceFindings f = ReadTrace(trace, dir_.path().string());
  ASSERT_TRUE(f.syscalls.count("accept") || f.syscalls.count("accept4")) << "the trace saw no connection";
  ExpectTraceFitsUnit(f, ParseUnit(ReadFile(DeployPath("rahnama.service"))), "rahnama serve");
}

TEST_F(SandboxFitTest, TheBackupSandboxAllowsEverythingTheBackupDoes) {
  {
    FakeGraph graph;
    auto s = server::Server::Start(TestConfig(dir_.File("rahnama.db"), graph.url()));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    Webhooks hooks((*s)->port());
    ASSERT_EQ(hooks.PostSigned(WhatsAppText("923001110002", "wamid.sandbox-2", "salam"))->status, 200);
    ASSERT_TRUE(graph.WaitFor(1, "923001110002"));
  }
  chmod(dir_.File("rahnama.db").c_str(), 0666);
  const std::string trace = dir_.File("backup.trace");
  pid_t strace_pid = SpawnTraced(trace, {RAHNAMA_BINARY, "backup", "--db", dir_.File("rahnama.db"), "--to",
                                         dir_.File("copy.db")}, {});
  ASSERT_GT(strace_pid, 0);
  TracedRun run{strace_pid};
  ASSERT_EQ(run.Wait(), 0) << ReadFile(trace).substr(0, 4000);
  ASSERT_TRUE(std::filesystem::exists(dir_.File("copy.db")));
  ExpectTraceFitsUnit(ReadTrace(trace, dir_.path().string()), ParseUnit(ReadFile(DeployPath("rahnama-backup.service"))),
                      "rahnama backup");
}

// --- The environment file ----------------------------------------------------------------------

TEST(EnvExampleTest, DocumentsEveryVariableTheProgramReads) {
  // Every RAHNAMA_* name in the program's sources; secrets also have a NAME_FILE form.
  CommandResult r = RunCommand("cd " + ShellQuote(RAHNAMA_SOURCE_DIR) +
                               " && grep -rhoE '\"RAHNAMA_[A-Z_]+\"' bot db intents 2>/dev/null | sort -u");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::set<std::string> names;
  for (const auto& quoted : Words(r.output)) names.insert(quoted.substr(1, quoted.size() - 2));
  for (const char* secret : {"RAHNAMA_APP_SECRET", "RAHNAMA_VERIFY_TOKEN", "RAHNAMA_WA_TOKEN", "RAHNAMA_PAGE_TOKEN"}) {
    EXPECT_TRUE(names.count(secret)) << secret << " is no longer read by the program: update the env example";
    names.insert(std::string(secret) + "_FILE");
  }
  for (const char* backup : {"RAHNAMA_BACKUP_KEEP", "RAHNAMA_BACKUP_DIR"}) names.insert(backup);
  ASSERT_GT(names.size(), 10u);
  const std::string example = ReadFile(DeployPath("rahnama.env.example"));
  for (const auto& name : names)
    EXPECT_NE(example.find(name + "="), std::string::npos)
        << name << " is read by rahnama but not documented in deploy/rahnama.env.example";
}

TEST(EnvExampleTest, HoldsNoSecretAndParsesAsAnEnvironmentFile) {
  std::istringstream in(ReadFile(DeployPath("rahnama.env.example")));
  int settings = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    ++settings;
    const size_t eq = line.find('=');
    ASSERT_NE(eq, std::string::npos) << "not KEY=value: " << line;
    const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    EXPECT_TRUE(std::regex_match(key, std::regex("RAHNAMA_[A-Z_]+"))) << line;
    EXPECT_EQ(value.find(' '), std::string::npos) << "values with spaces need quoting: " << line;
    for (const char* secret : {"SECRET", "TOKEN"})
      if (key.find(secret) != std::string::npos) {
        EXPECT_EQ(value, "") << "a secret with a value: " << key;
      }
  }
  EXPECT_GT(settings, 8);
  // And the env example's other values are what the units and the script assume by default.
  const std::string example = ReadFile(DeployPath("rahnama.env.example"));
  EXPECT_NE(example.find("\nRAHNAMA_HOST=127.0.0.1\n"), std::string::npos);
  EXPECT_NE(example.find("\nRAHNAMA_ADMIN_HOST=127.0.0.1\n"), std::string::npos);
  EXPECT_EQ(example.find("\nRAHNAMA_DB="), std::string::npos) << "the unit fixes --db; the env file must not move it";
}

}  // namespace
}  // namespace bot::testing
