// api/sns/message: the JSON documents SNS delivers to http/https endpoints
// (and, as local extensions, to files and programs), and their signature
// (SignatureVersion 2). The string to sign is AWS's documented one: for each
// field of the type's fixed list, in that order, "Name\nvalue\n"; Subject
// only when the notification has one. docs/sns.md shows each document.
//
//   Notification: Message, MessageId, Subject, Timestamp, TopicArn, Type
//   SubscriptionConfirmation, UnsubscribeConfirmation: Message, MessageId,
//     SubscribeURL, Timestamp, Token, TopicArn, Type
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "api/sns/signing.h"
#include "base/status.h"

namespace stageline::sns {

enum class MessageType { kNotification, kSubscriptionConfirmation, kUnsubscribeConfirmation };

// "Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation": the
// Type field and the x-amz-sns-message-type header.
std::string_view to_string(MessageType type);

struct Message {
  MessageType type = MessageType::kNotification;
  std::string message_id;  // a UUID
  std::string topic_arn;
  std::string subject;  // notifications only; "" for none
  std::string message;
  std::string timestamp;        // "2024-05-01T10:00:00.208Z" (iso8601_ms)
  std::string token;            // confirmations only
  std::string subscribe_url;    // confirmations only
  std::string unsubscribe_url;  // notifications only
  std::string signing_cert_url;
  std::string signature;  // base64; "" until sign() ran
};

// The string SignatureVersion 2 signs (see the header comment).
std::string string_to_sign(const Message& message);

// Sets message.signature. Errors: the key's (kInternal).
Status sign(Message& message, const SigningKey& key);

// The JSON document, fields in AWS's order, SignatureVersion "2".
std::string to_json(const Message& message);

// "2024-05-01T10:00:00.208Z" for milliseconds since the epoch (UTC).
std::string iso8601_ms(int64_t ms);

}  // namespace stageline::sns
