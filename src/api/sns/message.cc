#include "api/sns/message.h"

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace stageline::sns {

std::string_view to_string(MessageType type) {
  switch (type) {
    case MessageType::kNotification:
      return "Notification";
    case MessageType::kSubscriptionConfirmation:
      return "SubscriptionConfirmation";
    case MessageType::kUnsubscribeConfirmation:
      return "UnsubscribeConfirmation";
  }
  return "Notification";
}

std::string string_to_sign(const Message& m) {
  std::string out;
  auto add = [&out](std::string_view name, std::string_view value) {
    out.append(name).append("\n").append(value).append("\n");
  };
  add("Message", m.message);
  add("MessageId", m.message_id);
  if (m.type == MessageType::kNotification) {
    if (!m.subject.empty()) add("Subject", m.subject);
    add("Timestamp", m.timestamp);
  } else {
    add("SubscribeURL", m.subscribe_url);
    add("Timestamp", m.timestamp);
    add("Token", m.token);
  }
  add("TopicArn", m.topic_arn);
  add("Type", to_string(m.type));
  return out;
}

Status sign(Message& message, const SigningKey& key) {
  auto signature = key.sign(string_to_sign(message));
  if (!signature.ok()) return signature.status();
  message.signature = std::move(*signature);
  return Status();
}

std::string to_json(const Message& m) {
  boost::json::object o;
  o["Type"] = to_string(m.type);
  o["MessageId"] = m.message_id;
  if (m.type == MessageType::kNotification) {
    o["TopicArn"] = m.topic_arn;
    if (!m.subject.empty()) o["Subject"] = m.subject;
    o["Message"] = m.message;
    o["Timestamp"] = m.timestamp;
    o["SignatureVersion"] = "2";
    o["Signature"] = m.signature;
    o["SigningCertURL"] = m.signing_cert_url;
    o["UnsubscribeURL"] = m.unsubscribe_url;
  } else {
    o["Token"] = m.token;
    o["TopicArn"] = m.topic_arn;
    o["Message"] = m.message;
    o["SubscribeURL"] = m.subscribe_url;
    o["Timestamp"] = m.timestamp;
    o["SignatureVersion"] = "2";
    o["Signature"] = m.signature;
    o["SigningCertURL"] = m.signing_cert_url;
  }
  return boost::json::serialize(o);
}

std::string iso8601_ms(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  int millis = static_cast<int>(ms - static_cast<int64_t>(secs) * 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

}  // namespace stageline::sns
