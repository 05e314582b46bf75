//! The producer's own metrics, counted where Kafka's `Sender` counts them
//! (`SenderMetricsRegistry`), so the workbench can show Kafka's names beside its own figures.
//!
//! - `record-send-total` / `record-send-rate`: records the sender put into Produce requests
//!   (`Sender.SenderMetrics.updateProduceRequestMetrics`, once per drained batch — a retried
//!   batch counts again, so this is *not* the application's `send()` count);
//! - `request-latency-avg` / `request-latency-max`: per Produce request, from the request
//!   being sent to its response arriving (`recordLatency` in `handleProduceResponse`, only for
//!   requests that got a response: a timed-out or disconnected request, and an acks=0
//!   request, which has no response, record nothing).
//!
//! Kafka averages over two 30 s sample windows; kafkasim keeps running totals and the
//! workbench takes differences per chart bucket, so its rate and average are over a bucket
//! (the chart says so), and the clients view's are over the run so far.

use crate::sim::Duration;

/// Running totals of the producer's sender.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SenderMetrics {
    /// Records put into Produce requests (`record-send-total`).
    pub record_send_total: u64,
    /// Produce requests that got a response.
    pub responses: u64,
    /// Sum of their latencies, request sent → response (µs).
    pub request_latency_total_us: u64,
    /// The largest of them (`request-latency-max`, µs).
    pub request_latency_max_us: u64,
}

impl SenderMetrics {
    /// A Produce request carrying `records` records was sent.
    pub fn on_send(&mut self, records: usize) {
        self.record_send_total += records as u64;
    }

    /// A Produce request's response arrived `latency` after the request was sent.
    pub fn on_response(&mut self, latency: Duration) {
        let us = latency.as_us();
        self.responses += 1;
        self.request_latency_total_us += us;
        self.request_latency_max_us = self.request_latency_max_us.max(us);
    }

    /// These totals and `other`'s together (a restarted application's earlier incarnations).
    pub fn plus(self, other: SenderMetrics) -> SenderMetrics {
        SenderMetrics {
            record_send_total: self.record_send_total + other.record_send_total,
            responses: self.responses + other.responses,
            request_latency_total_us: self.request_latency_total_us
                + other.request_latency_total_us,
            request_latency_max_us: self
                .request_latency_max_us
                .max(other.request_latency_max_us),
        }
    }

    /// `request-latency-avg` over the run so far, in µs (`None` before the first response).
    pub fn request_latency_avg_us(&self) -> Option<u64> {
        (self.responses > 0).then(|| self.request_latency_total_us / self.responses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_only_requests_that_got_a_response() {
        let mut m = SenderMetrics::default();
        assert_eq!(m.request_latency_avg_us(), None);
        m.on_send(10);
        m.on_send(5);
        m.on_response(Duration::from_ms(2));
        m.on_response(Duration::from_ms(4));
        assert_eq!(m.record_send_total, 15);
        assert_eq!(m.request_latency_avg_us(), Some(3_000));
        assert_eq!(m.request_latency_max_us, 4_000);
    }
}
