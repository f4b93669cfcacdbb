//! `chunked=true` answers, streamed: each result object goes to the client as soon as it
//! is made (one HTTP chunk each), so a SELECT that reads its range in slices
//! (`select::select_streamed`) never holds its whole answer.
//!
//! The cuts are influxd 1.6's: a SELECT-like statement's series are cut into parts of
//! `chunk_size` rows (`partial` on every part but a series' last), each part in its own
//! result object (`partial` on every object but the statement's last).

use tessera_query::output::{results_json, CsvWriter, Series, StatementResult, TimeFormat};
use tessera_query::QueryError;

use crate::handlers::Format;

/// Writes result objects to the stream, as JSON (one object and a newline each), CSV
/// or MessagePack (one map each).
pub struct Emitter {
    tx: flume::Sender<Vec<u8>>,
    tf: TimeFormat,
    format: Format,
    csv: CsvWriter,
}

impl Emitter {
    pub fn new(tx: flume::Sender<Vec<u8>>, tf: TimeFormat, format: Format) -> Emitter {
        Emitter {
            tx,
            // CSV prints RFC 3339 times as nanoseconds.
            tf: if format == Format::Csv && tf == TimeFormat::Rfc3339 {
                TimeFormat::Epoch(1)
            } else {
                tf
            },
            format,
            csv: CsvWriter::default(),
        }
    }

    /// Whether the client went away.
    pub fn gone(&self) -> bool {
        self.tx.is_disconnected()
    }

    /// Sends one result object; fails when the client is gone.
    pub async fn emit(&mut self, r: &StatementResult) -> Result<(), QueryError> {
        let one = std::slice::from_ref(r);
        let body = match self.format {
            Format::Csv => {
                let mut out = String::new();
                self.csv.write(one, self.tf, &mut out);
                out.into_bytes()
            }
            Format::Msgpack => tessera_query::msgpack::results(one, self.tf),
            Format::Json { pretty } => match tessera_query::output::unencodable_float(one) {
                // influxd's JSON encoder fails on ±Inf: the chunk is the encoder's error.
                Some(v) => format!(
                    "json: error calling MarshalJSON for type httpd.Response: json: error \
                     calling MarshalJSON for type *query.Result: json: unsupported value: {v}\n"
                )
                .into_bytes(),
                None => results_json(one, self.tf, pretty).into_bytes(),
            },
        };
        if body.is_empty() {
            return Ok(());
        }
        self.tx
            .send_async(body)
            .await
            .map_err(|_| QueryError::Killed)
    }
}

/// Cuts one SELECT-like statement's answer into influxd's chunks as its series come.
pub struct Chunker {
    statement_id: usize,
    size: usize,
    tz: Option<std::sync::Arc<tessera_query::tz::Tz>>,
    /// Given to the statement's first result object.
    messages: Vec<(String, String)>,
    /// The series being read; more of it may follow.
    current: Option<Series>,
    /// The last part made, sent once it is known whether another follows.
    pending: Option<StatementResult>,
    sent: bool,
}

impl Chunker {
    pub fn new(
        statement_id: usize,
        size: usize,
        tz: Option<std::sync::Arc<tessera_query::tz::Tz>>,
    ) -> Chunker {
        Chunker {
            statement_id,
            size: size.max(1),
            tz,
            messages: Vec::new(),
            current: None,
            pending: None,
            sent: false,
        }
    }

    /// Rows of a series: those of the series being read when `s` has its name and tags,
    /// else a new series.
    pub async fn piece(&mut self, out: &mut Emitter, s: Series) -> Result<(), QueryError> {
        let same = self
            .current
            .as_ref()
            .is_some_and(|c| c.name == s.name && c.tags == s.tags && c.columns == s.columns);
        if same {
            if let Some(c) = self.current.as_mut() {
                c.values.extend(s.values);
            }
        } else {
            self.end_series(out).await?;
            self.current = Some(s);
        }
        self.cut(out).await
    }

    /// A whole series (never joined to the one before).
    pub async fn series(&mut self, out: &mut Emitter, s: Series) -> Result<(), QueryError> {
        self.end_series(out).await?;
        self.current = Some(s);
        self.cut(out).await?;
        self.end_series(out).await
    }

    /// Parts of `size` rows while more than `size` are waiting: a part is never the
    /// series' last, which only the end of the series tells.
    async fn cut(&mut self, out: &mut Emitter) -> Result<(), QueryError> {
        while let Some(c) = self.current.as_mut() {
            if c.values.len() <= self.size {
                break;
            }
            let rest = c.values.split_off(self.size);
            let values = std::mem::replace(&mut c.values, rest);
            let part = Series {
                name: c.name.clone(),
                tags: c.tags.clone(),
                columns: c.columns.clone(),
                values,
                partial: true,
            };
            self.part(out, part).await?;
        }
        Ok(())
    }

    async fn end_series(&mut self, out: &mut Emitter) -> Result<(), QueryError> {
        if let Some(mut c) = self.current.take() {
            c.partial = false;
            self.part(out, c).await?;
        }
        Ok(())
    }

    async fn part(&mut self, out: &mut Emitter, s: Series) -> Result<(), QueryError> {
        if let Some(mut p) = self.pending.take() {
            p.partial = true;
            out.emit(&p).await?;
        }
        self.pending = Some(StatementResult {
            statement_id: self.statement_id,
            series: vec![s],
            messages: if self.sent {
                Vec::new()
            } else {
                std::mem::take(&mut self.messages)
            },
            partial: false,
            error: None,
            tz: self.tz.clone(),
        });
        self.sent = true;
        Ok(())
    }

    /// The end of the statement's answer.
    pub async fn finish(mut self, out: &mut Emitter) -> Result<(), QueryError> {
        self.end_series(out).await?;
        match self.pending.take() {
            Some(p) => out.emit(&p).await,
            None => {
                out.emit(&StatementResult {
                    statement_id: self.statement_id,
                    messages: self.messages,
                    tz: self.tz,
                    ..Default::default()
                })
                .await
            }
        }
    }

    /// The statement failed after some of its answer was sent: what was read goes out
    /// (marked partial); the caller sends the error.
    pub async fn abort(mut self, out: &mut Emitter) -> Result<(), QueryError> {
        if let Some(mut c) = self.current.take() {
            c.partial = true;
            self.part(out, c).await?;
        }
        if let Some(mut p) = self.pending.take() {
            p.partial = true;
            out.emit(&p).await?;
        }
        Ok(())
    }

    /// A whole result of a statement that was not streamed.
    pub async fn result(mut self, out: &mut Emitter, r: StatementResult) -> Result<(), QueryError> {
        self.messages = r.messages;
        self.tz = r.tz;
        for s in r.series {
            self.series(out, s).await?;
        }
        self.finish(out).await
    }
}
