# The interop scenarios with Debian's ruby-bunny: one JSON line per feature on stdout.
# Usage: ruby bunny_features.rb URL TLS_URL CA_FILE
require 'bunny'
require 'json'
require 'securerandom'

url, tls_url, ca = ARGV

def unique(what) = "interop-#{what}-#{SecureRandom.hex(3)}"

def open(url, ca, **opts)
  extra = url.start_with?('amqps:') ? { tls_ca_certificates: [ca], verify_peer: true, hostname: 'localhost' } : {}
  conn = Bunny.new(url, logger: Logger.new(nil), automatically_recover: false, **extra, **opts)
  conn.start
  conn
end

def get_one(q, manual_ack)
  200.times do
    info, props, body = q.pop(manual_ack: manual_ack)
    return [info, props, body] if info
    sleep 0.01
  end
  raise "no message in #{q.name}"
end

features = {
  'connect' => -> { open(url, ca).close },
  'declare' => lambda {
    c = open(url, ca); ch = c.create_channel; name = unique('declare')
    ch.queue(name); raise 'not empty' unless ch.queue(name).message_count.zero?
    ch.queue_delete(name); c.close
  },
  'publish and consume' => lambda {
    c = open(url, ca); ch = c.create_channel; q = ch.queue(unique('consume'))
    got = Queue.new
    consumer = q.subscribe { |_info, _props, body| got << body }
    ch.default_exchange.publish('hello', routing_key: q.name, content_type: 'text/plain')
    body = Timeout.timeout(5) { got.pop }
    raise "consumed #{body}" unless body == 'hello'
    consumer.cancel; q.delete; c.close
  },
  'ack' => lambda {
    c = open(url, ca); ch = c.create_channel; q = ch.queue(unique('ack'))
    ch.default_exchange.publish('to ack', routing_key: q.name)
    info, = get_one(q, true)
    ch.ack(info.delivery_tag)
    raise 'not acked' unless ch.queue(q.name).message_count.zero?
    q.delete; c.close
  },
  'reject and requeue' => lambda {
    c = open(url, ca); ch = c.create_channel; q = ch.queue(unique('requeue'))
    ch.default_exchange.publish('again', routing_key: q.name)
    info, = get_one(q, true)
    raise 'redelivered at first' if info.redelivered?
    ch.reject(info.delivery_tag, true)
    info, _, body = get_one(q, false)
    raise 'not redelivered' unless info.redelivered? && body == 'again'
    q.delete; c.close
  },
  'confirms' => lambda {
    c = open(url, ca); ch = c.create_channel; q = ch.queue(unique('confirm'))
    ch.confirm_select
    ch.default_exchange.publish('confirmed', routing_key: q.name)
    raise 'not confirmed' unless ch.wait_for_confirms
    raise 'not queued' unless ch.queue(q.name).message_count == 1
    q.delete; c.close
  },
  'RPC with direct reply-to' => lambda {
    c = open(url, ca); server = c.create_channel; client = c.create_channel; q = server.queue(unique('rpc'))
    responder = q.subscribe { |_info, props, body| server.default_exchange.publish("re: #{body}", routing_key: props.reply_to) }
    replies = Queue.new
    consumer = Bunny::Consumer.new(client, 'amq.rabbitmq.reply-to', client.generate_consumer_tag, true)
    consumer.on_delivery { |_info, _props, body| replies << body }
    client.basic_consume_with(consumer)
    client.default_exchange.publish('ping', routing_key: q.name, reply_to: 'amq.rabbitmq.reply-to')
    reply = Timeout.timeout(5) { replies.pop }
    raise "replied #{reply}" unless reply == 're: ping'
    responder.cancel; q.delete; c.close
  },
  'heartbeats' => lambda {
    c = open(url, ca, heartbeat: 1)
    sleep 2.5
    ch = c.create_channel; name = unique('heartbeat'); ch.queue(name); ch.queue_delete(name); c.close
  },
  'TLS' => lambda {
    c = open(tls_url, ca); ch = c.create_channel; name = unique('tls'); ch.queue(name); ch.queue_delete(name); c.close
  },
}

puts({ version: Bunny::VERSION }.to_json)
$stdout.flush
features.each do |name, fn|
  fn.call
  puts({ feature: name, ok: true }.to_json)
rescue StandardError, Timeout::Error => e
  puts({ feature: name, ok: false, error: "#{e.class}: #{e.message}" }.to_json)
ensure
  $stdout.flush
end
