// server/source_poller: change detection for CodeStarSourceConnection
// sources (DetectChanges, V2 triggers; reference §8). Repositories behind a
// connection live on other git servers (or in directories), which cannot
// tell Stageline about pushes, so the server asks them: every interval the
// control thread lists the (connection, repository, branch) each pipeline's
// connection source watches, and a worker thread fetches each branch into
// its mirror (sources::Mirrors, the ones the source action uses). A branch
// whose head moved since the previous poll becomes a PushEvent (with the
// files changed between the two heads) posted back to the control thread,
// where the trigger rules decide what starts. A branch seen for the first
// time (after a start, or watched by a new pipeline) only has its head
// recorded: what was pushed while the server was down starts nothing. Depends on sources, triggers,
// store and api/codecommit (its git helpers).
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "sources/mirror.h"
#include "store/store.h"
#include "triggers/triggers.h"

namespace stageline::server {

struct SourceWatch {
  std::string connection_arn;
  std::string repository;  // FullRepositoryId
  std::string branch;
  bool operator<(const SourceWatch& o) const {
    return std::tie(connection_arn, repository, branch) <
           std::tie(o.connection_arn, o.repository, o.branch);
  }
};

// The branches the current versions of the stored pipelines watch through
// connections: each CodeStarSourceConnection source action whose
// DetectChanges is not "false" or that a V2 trigger names, on its
// BranchName. Each once.
Result<std::vector<SourceWatch>> connection_watches(store::Store& store);

class SourcePoller {
 public:
  struct Options {
    // Where `repository` behind `connection_arn` is: a URL or path libgit2
    // fetches. Called on the worker thread: must be thread-safe.
    std::function<Result<std::string>(const std::string& connection_arn,
                                      const std::string& repository)>
        resolve;
    // Runs a function on the control thread (http::Server::post).
    std::function<void(std::function<void()>)> post;
    // Called on the control thread for each moved branch.
    std::function<void(const triggers::PushEvent&)> on_push;
    // One line per failure (an unreachable remote, ...); any thread.
    std::function<void(const std::string&)> log;
  };

  // `mirrors` must outlive the poller.
  SourcePoller(sources::Mirrors& mirrors, Options options);
  // Waits for a poll under way to end.
  ~SourcePoller();

  // Control thread: fetches `watches` on the worker thread, unless the
  // previous poll is still running (then nothing happens).
  void poll(std::vector<SourceWatch> watches);

  // Whether a poll is under way. Thread-safe.
  bool busy();

 private:
  void run(std::vector<SourceWatch> watches);

  sources::Mirrors& mirrors_;
  Options options_;
  std::thread worker_;
  std::mutex mu_;
  bool running_ = false;                     // guarded by mu_
  std::map<SourceWatch, std::string> seen_;  // worker thread only: the last head of each
};

}  // namespace stageline::server
