#include "api/sns/sns_api.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "store/sqlite_store.h"

namespace stageline::sns {
namespace {

using namespace std::chrono_literals;

constexpr char kId[] = "AKIDSNSTEST";
constexpr char kSecret[] = "sns-test-secret";
constexpr char kHost[] = "127.0.0.1:7300";
constexpr char kTopic[] = "arn:aws:sns:us-east-1:000000000000:builds";

const SigningKey& shared_key() {
  static std::unique_ptr<SigningKey> key = [] {
    auto k = SigningKey::generate("sns.test");
    EXPECT_TRUE(k.ok()) << k.status().message();
    return std::move(k.value());
  }();
  return *key;
}

class RecordingTransport final : public Transport {
 public:
  std::vector<Delivery> sent;
  Status send(const Delivery& d) override {
    sent.push_back(d);
    return Status();
  }
};

// The text of the first <name> element of an XML answer ("" if none).
std::string xml_text(const std::string& xml, const std::string& name) {
  size_t start = xml.find("<" + name + ">");
  if (start == std::string::npos) return "";
  start += name.size() + 2;
  return xml.substr(start, xml.find("</" + name + ">", start) - start);
}

class SnsApiTest : public ::testing::Test {
 protected:
  SnsApiTest() {
    auto opened = store::SqliteStore::open(":memory:", {});
    EXPECT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(opened.value());
    keys_.put(api::sigv4::Key{kId, kSecret, "arn:aws:iam::000000000000:user/admin", true});
    api::sigv4::VerifierOptions verifier_options;
    verifier_options.services = {"sns"};
    verifier_ = std::make_unique<api::sigv4::Verifier>(verifier_options, keys_);
    Deliverer::Options delivery_options;
    delivery_options.now = [this] { return clock_; };
    deliverer_ = std::make_unique<Deliverer>(shared_key(), transport_, delivery_options);
    SnsOptions options;
    options.now_ms = [] { return int64_t{1700000000000}; };
    options.new_id = [this] { return "id-" + std::to_string(++ids_); };
    api_ = std::make_unique<SnsApi>(*store_, *verifier_, shared_key(), *deliverer_, options);
  }

  http::Response call(const std::string& form) {
    api::sigv4::HttpRequest r{
        "POST",
        "/",
        {{"Host", kHost}, {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}},
        form + "&Version=2010-03-31"};
    EXPECT_TRUE(api::sigv4::sign(r, api::sigv4::Key{kId, kSecret, "", true}, "us-east-1", "sns",
                                 std::chrono::system_clock::now())
                    .ok());
    return api_->handle(
        http::Request{r.method, r.target, "127.0.0.1:1", "req-1", r.headers, r.body, ""});
  }

  http::Response get(const std::string& target) {
    return api_->handle_public(
        http::Request{"GET", target, "127.0.0.1:1", "req-2", {{"Host", kHost}}, "", ""});
  }

  // Delivers what is due now; returns the deliveries made.
  std::vector<Delivery> deliver() {
    transport_.sent.clear();
    deliverer_->run_due(clock_);
    return transport_.sent;
  }

  void create_topic() {
    auto r = call("Action=CreateTopic&Name=builds");
    ASSERT_EQ(r.status, 200) << r.body;
  }

  std::unique_ptr<store::SqliteStore> store_;
  api::sigv4::InMemoryKeySource keys_;
  std::unique_ptr<api::sigv4::Verifier> verifier_;
  RecordingTransport transport_;
  Deliverer::Clock::time_point clock_{};
  std::unique_ptr<Deliverer> deliverer_;
  std::unique_ptr<SnsApi> api_;
  int ids_ = 0;
};

TEST_F(SnsApiTest, CreateTopicAnswersTheArnInXmlAndIsIdempotent) {
  auto r = call(
      "Action=CreateTopic&Name=builds&Attributes.entry.1.key=DisplayName&"
      "Attributes.entry.1.value=Builds");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("<CreateTopicResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">"
                        "<CreateTopicResult><TopicArn>arn:aws:sns:us-east-1:000000000000:builds"
                        "</TopicArn></CreateTopicResult>"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(xml_text(call("Action=CreateTopic&Name=builds").body, "TopicArn"), kTopic);
  auto attrs = call(std::string("Action=GetTopicAttributes&TopicArn=") + kTopic);
  EXPECT_NE(attrs.body.find("<entry><key>DisplayName</key><value>Builds</value></entry>"),
            std::string::npos)
      << attrs.body;
}

TEST_F(SnsApiTest, BadTopicNamesAndUnknownActionsAreSenderErrors) {
  auto bad = call("Action=CreateTopic&Name=no%20spaces");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(xml_text(bad.body, "Code"), "InvalidParameter");
  EXPECT_EQ(xml_text(bad.body, "Type"), "Sender");
  auto unknown = call("Action=CreateSMSSandboxPhoneNumber");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(xml_text(unknown.body, "Message").find("is not valid"), std::string::npos);
  auto missing = call(std::string("Action=GetTopicAttributes&TopicArn=") + kTopic);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(xml_text(missing.body, "Code"), "NotFound");
}

TEST_F(SnsApiTest, AnUnsignedRequestIsRefused) {
  auto r = api_->handle(http::Request{
      "POST", "/", "127.0.0.1:1", "req-3", {{"Host", kHost}}, "Action=ListTopics", ""});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(xml_text(r.body, "Code"), "MissingAuthenticationToken");
}

TEST_F(SnsApiTest, ListTopicsListsMembersAndDeleteTopicRemovesItsSubscriptions) {
  create_topic();
  ASSERT_EQ(call("Action=CreateTopic&Name=deploys").status, 200);
  auto list = call("Action=ListTopics");
  EXPECT_NE(list.body.find("<Topics><member><TopicArn>" + std::string(kTopic) +
                           "</TopicArn></member><member><TopicArn>"
                           "arn:aws:sns:us-east-1:000000000000:deploys</TopicArn></member>"
                           "</Topics>"),
            std::string::npos)
      << list.body;
  ASSERT_EQ(call(std::string("Action=Subscribe&TopicArn=") + kTopic +
                 "&Protocol=stageline-file&Endpoint=%2Ftmp%2Fx.jsonl")
                .status,
            200);
  ASSERT_EQ(call(std::string("Action=DeleteTopic&TopicArn=") + kTopic).status, 200);
  EXPECT_EQ(call("Action=ListSubscriptions").body.find("<member>"), std::string::npos);
  EXPECT_EQ(call("Action=ListTopics").body.find("builds"), std::string::npos);
  // Deleting it again is not an error, as in AWS.
  EXPECT_EQ(call(std::string("Action=DeleteTopic&TopicArn=") + kTopic).status, 200);
}

TEST_F(SnsApiTest, UnsupportedProtocolsAreRefusedNamingWhatIsSupported) {
  create_topic();
  auto r = call(std::string("Action=Subscribe&TopicArn=") + kTopic +
                "&Protocol=email&Endpoint=a%40example.com");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(xml_text(r.body, "Message").find("http, https, stageline-file"), std::string::npos)
      << r.body;
  auto mismatch = call(std::string("Action=Subscribe&TopicArn=") + kTopic +
                       "&Protocol=http&Endpoint=ftp%3A%2F%2Fx");
  EXPECT_EQ(mismatch.status, 400);
  auto relative = call(std::string("Action=Subscribe&TopicArn=") + kTopic +
                       "&Protocol=stageline-file&Endpoint=rel.jsonl");
  EXPECT_EQ(relative.status, 400);
}

TEST_F(SnsApiTest, AnHttpSubscriptionIsConfirmedThroughItsSubscribeUrlBeforeItGetsMessages) {
  create_topic();
  auto sub = call(std::string("Action=Subscribe&TopicArn=") + kTopic +
                  "&Protocol=http&Endpoint=http%3A%2F%2F127.0.0.1%3A9999%2Fhook");
  ASSERT_EQ(sub.status, 200) << sub.body;
  EXPECT_EQ(xml_text(sub.body, "SubscriptionArn"), "pending confirmation");
  auto confirmations = deliver();
  ASSERT_EQ(confirmations.size(), 1u);
  const Message& c = confirmations[0].message;
  EXPECT_EQ(c.type, MessageType::kSubscriptionConfirmation);
  EXPECT_EQ(c.topic_arn, kTopic);
  EXPECT_EQ(c.signing_cert_url, "http://127.0.0.1:7300" + api_->certificate_path());
  EXPECT_TRUE(*verify_signature(shared_key().certificate_pem(), string_to_sign(c), c.signature));
  EXPECT_NE(call("Action=ListSubscriptions").body.find("PendingConfirmation"), std::string::npos);

  // Not confirmed yet: a publish reaches nobody.
  ASSERT_EQ(call(std::string("Action=Publish&TopicArn=") + kTopic + "&Message=early").status, 200);
  EXPECT_TRUE(deliver().empty());

  // The endpoint fetches the SubscribeURL (unsigned, as in AWS).
  const std::string prefix = "http://127.0.0.1:7300";
  ASSERT_TRUE(c.subscribe_url.starts_with(prefix));
  auto confirmed = get(c.subscribe_url.substr(prefix.size()));
  ASSERT_EQ(confirmed.status, 200) << confirmed.body;
  const std::string arn = xml_text(confirmed.body, "SubscriptionArn");
  EXPECT_TRUE(arn.starts_with(std::string(kTopic) + ":")) << confirmed.body;

  auto published = call(std::string("Action=Publish&TopicArn=") + kTopic +
                        "&Subject=Build%20done&Message=hello%20world");
  ASSERT_EQ(published.status, 200) << published.body;
  auto notes = deliver();
  ASSERT_EQ(notes.size(), 1u);
  const Message& n = notes[0].message;
  EXPECT_EQ(n.type, MessageType::kNotification);
  EXPECT_EQ(n.message, "hello world");
  EXPECT_EQ(n.subject, "Build done");
  EXPECT_EQ(n.message_id, xml_text(published.body, "MessageId"));
  EXPECT_EQ(notes[0].subscription_arn, arn);
  EXPECT_TRUE(*verify_signature(shared_key().certificate_pem(), string_to_sign(n), n.signature));

  // A wrong token confirms nothing.
  auto wrong = get("/sns/confirm?TopicArn=" + form_encode(kTopic) + "&Token=00");
  EXPECT_EQ(wrong.status, 400);

  // The UnsubscribeURL ends it.
  ASSERT_TRUE(n.unsubscribe_url.starts_with(prefix));
  EXPECT_EQ(get(n.unsubscribe_url.substr(prefix.size())).status, 200);
  ASSERT_EQ(call(std::string("Action=Publish&TopicArn=") + kTopic + "&Message=late").status, 200);
  EXPECT_TRUE(deliver().empty());
}

TEST_F(SnsApiTest, ConfirmSubscriptionByTheApiWorksToo) {
  create_topic();
  ASSERT_EQ(call(std::string("Action=Subscribe&TopicArn=") + kTopic +
                 "&Protocol=https&Endpoint=https%3A%2F%2Fexample.com%2F")
                .status,
            200);
  auto sent = deliver();
  ASSERT_EQ(sent.size(), 1u);
  auto r = call(std::string("Action=ConfirmSubscription&TopicArn=") + kTopic +
                "&Token=" + sent[0].message.token);
  ASSERT_EQ(r.status, 200) << r.body;
  auto attrs = call("Action=GetSubscriptionAttributes&SubscriptionArn=" +
                    form_encode(xml_text(r.body, "SubscriptionArn")));
  EXPECT_NE(attrs.body.find("<key>PendingConfirmation</key><value>false</value>"),
            std::string::npos)
      << attrs.body;
}

TEST_F(SnsApiTest, LocalSubscriptionsAreConfirmedAtOnceAndJsonStructureChoosesTheirMessage) {
  create_topic();
  auto file = call(std::string("Action=Subscribe&TopicArn=") + kTopic +
                   "&Protocol=stageline-file&Endpoint=%2Ftmp%2Fa.jsonl&"
                   "Attributes.entry.1.key=RawMessageDelivery&Attributes.entry.1.value=true");
  ASSERT_EQ(file.status, 200) << file.body;
  EXPECT_TRUE(xml_text(file.body, "SubscriptionArn").starts_with(kTopic));
  ASSERT_EQ(call(std::string("Action=Subscribe&TopicArn=") + kTopic +
                 "&Protocol=stageline-program&Endpoint=cat")
                .status,
            200);
  std::string message = form_encode(R"({"default":"plain","stageline-program":"for programs"})");
  auto r = call(std::string("Action=Publish&TopicArn=") + kTopic +
                "&MessageStructure=json&Message=" + message);
  ASSERT_EQ(r.status, 200) << r.body;
  auto sent = deliver();
  ASSERT_EQ(sent.size(), 2u);
  for (const auto& d : sent) {
    if (d.protocol == "stageline-file") {
      EXPECT_TRUE(d.raw);
      EXPECT_EQ(delivery_body(d), "plain");
    } else {
      EXPECT_EQ(d.message.message, "for programs");
    }
  }
  auto no_default = call(std::string("Action=Publish&TopicArn=") + kTopic +
                         "&MessageStructure=json&Message=" + form_encode(R"({"http":"x"})"));
  EXPECT_EQ(no_default.status, 400);
}

TEST_F(SnsApiTest, PublishValidatesTheMessageAndTheTopic) {
  create_topic();
  EXPECT_EQ(call(std::string("Action=Publish&TopicArn=") + kTopic + "&Message=").status, 400);
  EXPECT_EQ(call("Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3Anope&"
                 "Message=x")
                .status,
            404);
  EXPECT_EQ(
      call(std::string("Action=Publish&TopicArn=") + kTopic + "&Message=x&Subject=two%0Alines")
          .status,
      400);
  EXPECT_EQ(api_->publish("arn:aws:sns:us-east-1:000000000000:nope", "", "x").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(api_->publish("not an arn", "", "x").status().code(), StatusCode::kInvalidArgument);
  auto id = api_->publish(kTopic, "s", "m");
  EXPECT_TRUE(id.ok());
}

TEST_F(SnsApiTest, ListSubscriptionsByTopicShowsOnlyThatTopicsSubscriptions) {
  create_topic();
  ASSERT_EQ(call("Action=CreateTopic&Name=builds-2").status, 200);
  ASSERT_EQ(call(std::string("Action=Subscribe&TopicArn=") + kTopic +
                 "&Protocol=stageline-program&Endpoint=cat")
                .status,
            200);
  ASSERT_EQ(call("Action=Subscribe&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3Abuilds-2"
                 "&Protocol=stageline-program&Endpoint=wc")
                .status,
            200);
  auto r = call(std::string("Action=ListSubscriptionsByTopic&TopicArn=") + kTopic);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("<Endpoint>cat</Endpoint>"), std::string::npos);
  EXPECT_EQ(r.body.find("<Endpoint>wc</Endpoint>"), std::string::npos);
  // The same endpoint subscribed again is the same subscription.
  auto again = call(std::string("Action=Subscribe&TopicArn=") + kTopic +
                    "&Protocol=stageline-program&Endpoint=cat");
  EXPECT_EQ(call(std::string("Action=ListSubscriptionsByTopic&TopicArn=") + kTopic).body, r.body);
  (void)again;
}

TEST_F(SnsApiTest, TheCertificateIsServedUnsignedAtItsPath) {
  auto r = get(api_->certificate_path());
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, shared_key().certificate_pem());
  EXPECT_EQ(get("/sns/other.pem").status, 404);
}

}  // namespace
}  // namespace stageline::sns
