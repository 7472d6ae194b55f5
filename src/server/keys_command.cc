#include "server/keys_command.h"

#include "api/keys/key_commands.h"
#include "server/api_server.h"
#include "store/sqlite_store.h"

namespace stageline::server {

int run_keys(const KeysArgs& args, std::ostream& out, std::ostream& err) {
  const std::filesystem::path data = args.data_dir.empty() ? default_data_dir() : args.data_dir;
  const std::filesystem::path db = data / "stageline.db";
  if (!std::filesystem::exists(db)) {
    err << "stageline keys: no store at " << db.string()
        << " (start `stageline server` once, or give --data-dir)\n";
    return 2;
  }
  auto store = store::SqliteStore::open(db.string(), {});
  if (!store.ok()) {
    err << "stageline keys: " << store.status().message() << "\n";
    return 2;
  }
  Status done;
  if (args.verb == "create") {
    auto key = keys::keys_create(**store, args.account_id, args.argument, out);
    done = key.status();
  } else if (args.verb == "list") {
    done = keys::keys_list(**store, out);
  } else if (args.verb == "delete") {
    done = keys::keys_delete(**store, args.argument, out);
  } else if (args.verb == "disable") {
    done = keys::keys_disable(**store, args.argument, out);
  } else if (args.verb == "enable") {
    done = keys::keys_enable(**store, args.argument, out);
  } else {
    err << "stageline keys: unknown command '" << args.verb
        << "' (create NAME, list, delete ID, disable ID, enable ID)\n";
    return 2;
  }
  if (done.ok()) return 0;
  err << "stageline keys " << args.verb << ": " << done.message() << "\n";
  return done.code() == StatusCode::kFailedPrecondition ? 1 : 2;
}

}  // namespace stageline::server
