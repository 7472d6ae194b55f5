// api/sns: the subset of Amazon SNS a pipeline needs (issue #7), in the AWS
// query protocol the aws CLI and SDKs speak to SNS (a signed form POST,
// XML answers; query.h), plus the signed deliveries SNS makes (message.h,
// delivery.h). docs/sns.md is the user's guide and the format reference.
//
// Actions: CreateTopic, DeleteTopic, ListTopics, GetTopicAttributes,
// SetTopicAttributes, Subscribe, ConfirmSubscription, Unsubscribe,
// ListSubscriptions, ListSubscriptionsByTopic, GetSubscriptionAttributes,
// SetSubscriptionAttributes, Publish. Protocols: http and https (which start
// PendingConfirmation: the endpoint gets a SubscriptionConfirmation and
// confirms by fetching its SubscribeURL, or by ConfirmSubscription), and two
// local extensions, confirmed at once: stageline-file (Endpoint: an absolute
// path; each message is appended as one JSON line) and stageline-program
// (Endpoint: a shell command that gets each message on stdin). email, sms,
// sqs, lambda, application and firehose are refused with InvalidParameter.
//
// Topics and subscriptions are resources of service "sns" (kinds "topic",
// named by topic name, and "subscription", named by subscription ARN) in
// the store's resources table; docs/store-schema.md. Deliveries go through
// a Deliverer (its own thread): no call here waits for an endpoint.
//
// Unsigned routes (as AWS has them, reached through the SubscribeURL and
// UnsubscribeURL of messages, and SigningCertURL): GET /sns/confirm,
// GET /sns/unsubscribe and GET /sns/SimpleNotificationService-<fp>.pem.
//
// Depends on base, store (resources only), api/http (Request/Response, no
// Beast), api/sigv4, api/client (the plain http client), jobs (the wait
// status decoder) and OpenSSL. Not thread-safe: the control thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/http/http.h"
#include "api/sigv4/sigv4.h"
#include "api/sns/delivery.h"
#include "api/sns/query.h"
#include "api/sns/signing.h"
#include "base/status.h"
#include "store/store.h"

namespace stageline::sns {

struct SnsOptions {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  std::function<int64_t()> now_ms;      // required
  std::function<std::string()> new_id;  // lower-case UUIDs; required
  // The server's base URL as subscribers reach it ("http://127.0.0.1:7300"),
  // for SigningCertURL, SubscribeURL and UnsubscribeURL. Empty function or
  // empty answer: "http://" + the Host header of the Subscribe request.
  std::function<std::string()> endpoint_url;
  // One line per internal failure (a store error); the control thread.
  std::function<void(const std::string&)> log;
};

// An SNS error: the HTTP status, the error code (the XML's Code), the
// message.
struct SnsError {
  int http_status = 400;
  std::string code;
  std::string message;
};

class SnsApi {
 public:
  // Everything is borrowed and must outlive the SnsApi.
  SnsApi(store::Store& store, const api::sigv4::Verifier& verifier, const SigningKey& key,
         Deliverer& deliverer, SnsOptions options);

  // Answers one signed query-protocol request (credential scope "sns"):
  // authenticates it, parses the form (body and query string), runs the
  // action. Never throws.
  http::Response handle(const http::Request& request);

  // Whether `request` is one of the unsigned GET routes (path under /sns/).
  static bool is_public(const http::Request& request);
  // Answers an unsigned GET route: the certificate (application/
  // x-pem-file), a confirmation, or an unsubscription (XML as for the
  // actions).
  http::Response handle_public(const http::Request& request);

  // The path the certificate is served at:
  // "/sns/SimpleNotificationService-<fingerprint>.pem".
  std::string certificate_path() const;

  // Publishes a message to the topic, as Publish does (the server's own
  // notifications, e.g. approvals). Returns the MessageId. Errors:
  // kNotFound (no such topic), kInvalidArgument (an ARN that is not a
  // topic's, an empty message), kFailedPrecondition (the delivery queue is
  // full), kIo (the store).
  Result<std::string> publish(const std::string& topic_arn, const std::string& subject,
                              const std::string& message);

  // The XML inside an action's Result element; nullopt for an action
  // without output.
  using Output = std::optional<std::string>;

  // One action on a parsed form. Public for tests; handle() is this plus
  // authentication and the envelope. `host` is the request's Host header.
  // Errors map to SNS errors by to_error.
  Result<Output> call(const std::string& action, const Form& form, std::string_view host);

  // The SNS error of a Status: kInvalidArgument InvalidParameter (400),
  // kNotFound NotFound (404), kAlreadyExists InvalidParameter (400),
  // kFailedPrecondition Throttled (429, the delivery queue is full), kIo and
  // kInternal InternalError (500, "Internal error": the detail is logged).
  static SnsError to_error(const Status& status);

 private:
  struct Topic {
    std::string name;
    std::string arn;
    std::map<std::string, std::string> attributes;  // as set: DisplayName, Policy, ...
    std::vector<std::pair<std::string, std::string>> tags;
    int64_t created_ms = 0;
  };
  struct Subscription {
    std::string arn;
    std::string topic_arn;
    std::string protocol;
    std::string endpoint;
    std::string owner;  // the account
    bool confirmed = false;
    std::string token;                              // the confirmation token (http, https)
    std::string base_url;                           // the server's URL when it subscribed
    std::map<std::string, std::string> attributes;  // RawMessageDelivery
    int64_t created_ms = 0;
  };

  Result<Output> create_topic(const Form& form);
  Result<Output> delete_topic(const Form& form);
  Result<Output> list_topics(const Form& form);
  Result<Output> get_topic_attributes(const Form& form);
  Result<Output> set_topic_attributes(const Form& form);
  Result<Output> subscribe(const Form& form, std::string_view host);
  Result<Output> confirm_subscription(const Form& form);
  Result<Output> unsubscribe(const Form& form);
  Result<Output> list_subscriptions(const Form& form, bool by_topic);
  Result<Output> get_subscription_attributes(const Form& form);
  Result<Output> set_subscription_attributes(const Form& form);
  Result<Output> publish_action(const Form& form);

  // The topic an ARN names. kInvalidArgument for a malformed ARN, kNotFound.
  Result<Topic> find_topic(const std::string& arn);
  Result<Subscription> find_subscription(const std::string& arn);
  Status save(const Topic& topic, bool is_new);
  Status save(const Subscription& subscription, bool is_new);
  // Subscriptions in ARN order: of one topic (`topic_arn` set) or all, at
  // most `limit` after `after_arn`; the page's next key.
  Result<store::Page<Subscription>> subscriptions(const std::string* topic_arn,
                                                  const std::string& after_arn, int limit);
  // The topic's name, or nullopt when `arn` is not a topic ARN of this
  // region and account.
  std::optional<std::string> topic_name(std::string_view arn) const;
  std::string topic_arn(std::string_view name) const;
  std::string base_url(const Subscription& s) const;
  // Queues one message for every confirmed subscription of the topic;
  // `messages` by protocol, with "default" (MessageStructure json). Returns
  // the MessageId.
  Result<std::string> deliver(const std::string& topic_arn, const std::string& subject,
                              const std::map<std::string, std::string>& messages);
  // Sends the SubscriptionConfirmation of a pending subscription.
  Status send_confirmation(const Subscription& s);

  store::Store& store_;
  const api::sigv4::Verifier& verifier_;
  const SigningKey& key_;
  Deliverer& deliverer_;
  SnsOptions options_;
};

}  // namespace stageline::sns
