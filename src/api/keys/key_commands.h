// api/keys/key_commands: what `stageline keys create|list|delete|disable|
// enable` do, as plain functions on a Store that print to an ostream, so the
// CLI only parses arguments and maps the Status to an exit code, and tests
// call them directly. Part of the keys module (keys.h).
//
// The guard: the last enabled key of an account's administrator
// (arn:aws:iam::<account>:user/admin) can be neither deleted nor disabled,
// so the operator cannot lock themselves out. The check and the change are
// one write transaction.
#pragma once

#include <ostream>
#include <string_view>

#include "api/keys/keys.h"

namespace stageline::keys {

// Creates an enabled key for arn:aws:iam::<account_id>:user/<user_name> and
// prints it, the secret included; the secret is never printed again:
//   Created access key AKIA... for arn:aws:iam::111122223333:user/alice
//   aws_access_key_id = AKIA...
//   aws_secret_access_key = ...
//   The secret is shown only this once. ...
// Returns the key. If `out` fails, the key is deleted again (nobody saw its
// secret) and kIo returned. Errors: kInvalidArgument for a bad account id or
// user name; the store's.
Result<sigv4::Key> keys_create(store::Store& store, std::string_view account_id,
                               std::string_view user_name, std::ostream& out,
                               TimestampMs now_ms = system_now_ms());

// Prints every key in creation order, one per line under a header, columns
// aligned: ACCESS KEY ID, STATUS (Active or Inactive, as IAM says), CREATED
// and LAST USED (UTC, ISO 8601; "never"), PRINCIPAL. Never the secret.
// "No access keys." when there are none. Errors: the store's; kIo if `out`
// fails.
Status keys_list(store::StoreReader& store, std::ostream& out);

// Deletes key `access_key_id` and prints "Deleted access key <id> of
// <principal>". kNotFound for an unknown id; kFailedPrecondition (nothing
// changed) when it is the last enabled administrator key of its account.
Status keys_delete(store::Store& store, std::string_view access_key_id, std::ostream& out);

// Disables key `access_key_id` (kept, but requests signed with it are
// refused) and prints "Disabled access key <id> of <principal>". Disabling a
// disabled key is ok. kNotFound for an unknown id; kFailedPrecondition
// (nothing changed) when it is the last enabled administrator key of its
// account.
Status keys_disable(store::Store& store, std::string_view access_key_id, std::ostream& out);

// Enables key `access_key_id` and prints "Enabled access key <id> of
// <principal>". Enabling an enabled key is ok. kNotFound for an unknown id.
Status keys_enable(store::Store& store, std::string_view access_key_id, std::ostream& out);

}  // namespace stageline::keys
