//! Output plumbing: CSV files written through a byte-counting writer, either
//! as loose files in a directory or as entries of a deflated zip archive.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::GenerateError;

/// Counts bytes; `flush` is deliberately a no-op so that the CSV writer's
/// final flush does not force a deflate sync block into zip entries (loose
/// files are flushed explicitly).
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf)?;
        self.bytes += buf.len() as u64;
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes the data rows of one CSV file.
pub(crate) type TableBody<'a> = &'a dyn Fn(&mut Table<'_, '_>) -> csv::Result<()>;

/// One CSV file being written.
pub(crate) struct Table<'a, 'r> {
    w: csv::Writer<&'a mut dyn Write>,
    rows: u64,
    /// Told of rows written, in batches.
    report: Reporter<'r>,
    unreported: u64,
}

/// Where rows written are reported.
pub(crate) type Reporter<'a> = &'a dyn Fn(crate::GenerateEvent<'_>);

/// Rows reported at a time.
const REPORT_EVERY: u64 = 8192;

impl Table<'_, '_> {
    /// Writes one data row.
    pub(crate) fn row<I, T>(&mut self, fields: I) -> csv::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.w.write_record(fields)?;
        self.rows += 1;
        self.unreported += 1;
        if self.unreported >= REPORT_EVERY {
            (self.report)(crate::GenerateEvent::Rows(self.unreported));
            self.unreported = 0;
        }
        Ok(())
    }
}

/// Writes `header` and the body's rows to `out`; returns the number of data
/// rows.
fn write_table(
    out: &mut dyn Write,
    header: &[&str],
    body: TableBody<'_>,
    report: Reporter<'_>,
) -> csv::Result<u64> {
    let w = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .terminator(csv::Terminator::Any(b'\n'))
        .buffer_capacity(1 << 16)
        .from_writer(out);
    let mut t = Table {
        w,
        rows: 0,
        report,
        unreported: 0,
    };
    t.w.write_record(header)?;
    body(&mut t)?;
    t.w.flush()?;
    if t.unreported > 0 {
        report(crate::GenerateEvent::Rows(t.unreported));
    }
    Ok(t.rows)
}

/// Where the CSV files go.
pub(crate) enum Sink {
    /// Loose files in this directory.
    Dir(PathBuf),
    /// Entries of a zip archive being written at `path`.
    Zip {
        path: PathBuf,
        zip: Box<zip::ZipWriter<BufWriter<File>>>,
        large_file: bool,
    },
}

impl Sink {
    /// A zip archive when `out` ends in `.zip` (a missing parent directory
    /// is created, an existing archive replaced; `large_file`: zip64
    /// entries), else a directory (created if missing).
    pub(crate) fn create(out: &Path, large_file: bool) -> Result<Sink, GenerateError> {
        let is_zip = out
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
        if is_zip {
            if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::create_dir_all(parent)
                    .map_err(|e| GenerateError::io("creating directory", parent, e))?;
            }
            let file = File::create(out).map_err(|e| GenerateError::io("creating", out, e))?;
            Ok(Sink::Zip {
                path: out.to_path_buf(),
                zip: Box::new(zip::ZipWriter::new(BufWriter::with_capacity(1 << 16, file))),
                large_file,
            })
        } else {
            fs::create_dir_all(out).map_err(|e| GenerateError::io("creating directory", out, e))?;
            Ok(Sink::Dir(out.to_path_buf()))
        }
    }

    /// Writes one CSV file; returns (data rows, bytes).
    pub(crate) fn table(
        &mut self,
        name: &str,
        header: &[&str],
        body: TableBody<'_>,
        report: Reporter<'_>,
    ) -> Result<(u64, u64), GenerateError> {
        report(crate::GenerateEvent::File(name));
        match self {
            Sink::Dir(dir) => {
                let path = dir.join(name);
                let file =
                    File::create(&path).map_err(|e| GenerateError::io("creating", &path, e))?;
                let mut out = Counting {
                    inner: BufWriter::with_capacity(1 << 16, file),
                    bytes: 0,
                };
                let rows = write_table(&mut out, header, body, report).map_err(|source| {
                    GenerateError::Csv {
                        file: path.display().to_string(),
                        source,
                    }
                })?;
                out.inner
                    .flush()
                    .map_err(|e| GenerateError::io("writing", &path, e))?;
                Ok((rows, out.bytes))
            }
            Sink::Zip {
                path,
                zip,
                large_file,
            } => {
                let modified = zip::DateTime::from_date_and_time(2026, 1, 1, 0, 0, 0)
                    .unwrap_or(zip::DateTime::DEFAULT);
                let options = zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated)
                    .compression_level(Some(6))
                    .last_modified_time(modified)
                    .unix_permissions(0o644)
                    .large_file(*large_file);
                zip.start_file(name, options)
                    .map_err(|source| GenerateError::Zip {
                        path: path.clone(),
                        source,
                    })?;
                let mut out = Counting {
                    inner: &mut **zip,
                    bytes: 0,
                };
                let rows = write_table(&mut out, header, body, report).map_err(|source| {
                    GenerateError::Csv {
                        file: format!("{}:{name}", path.display()),
                        source,
                    }
                })?;
                Ok((rows, out.bytes))
            }
        }
    }

    /// Completes the archive (directories need nothing more).
    pub(crate) fn finish(self) -> Result<(), GenerateError> {
        match self {
            Sink::Dir(_) => Ok(()),
            Sink::Zip { path, zip, .. } => {
                let mut file = zip.finish().map_err(|source| GenerateError::Zip {
                    path: path.clone(),
                    source,
                })?;
                file.flush()
                    .map_err(|e| GenerateError::io("writing", &path, e))
            }
        }
    }
}
