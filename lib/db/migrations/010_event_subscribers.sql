-- Processes subscribed to QueueService.events(): workers publish job events only while one is here, so that
-- nobody pays for events nobody reads. A subscriber renews its row while subscribed; an expired row is ignored.
CREATE TABLE event_subscribers (
  id         uuid PRIMARY KEY,
  expires_at timestamptz NOT NULL
);
