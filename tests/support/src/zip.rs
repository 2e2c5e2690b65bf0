//! Zip archives written by tests: packages as ClassLink uploads them, and
//! hand-made archives with one fault each. Entries are deflated.

use std::fs::File;
use std::io::Write;
use std::path::Path;

fn writer(path: &Path) -> ::zip::ZipWriter<File> {
    let file =
        File::create(path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    ::zip::ZipWriter::new(file)
}

fn options() -> ::zip::write::SimpleFileOptions {
    ::zip::write::SimpleFileOptions::default()
        .compression_method(::zip::CompressionMethod::Deflated)
}

/// Writes `entries` (name, bytes), in order, as a zip at `path`.
pub fn write_zip<'a>(path: &Path, entries: impl IntoIterator<Item = (&'a str, &'a [u8])>) {
    let mut zip = writer(path);
    for (name, bytes) in entries {
        zip.start_file(name, options()).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

/// Zips the files of `folder` (not its subfolders), sorted by name, to `out`.
pub fn zip_folder(folder: &Path, out: &Path) {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", folder.display()))
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut zip = writer(out);
    for name in names {
        zip.start_file(name.as_str(), options()).unwrap();
        let mut file = File::open(folder.join(&name)).unwrap();
        std::io::copy(&mut file, &mut zip).unwrap();
    }
    zip.finish().unwrap();
}
