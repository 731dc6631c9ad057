//! Each test's recent durations per arch, remembered across runs in
//! `target/xtask/durations.json`, for splitting a suite into parts that take equally long.
//!
//! The file keeps the last [`SAMPLES`] durations of each test (microseconds, newest last)
//! and is rewritten atomically after every run. The estimate of a test is the median of its
//! samples (one slow run moves it little); a test never seen gets the median of the arch's
//! estimates, or [`UNKNOWN`] when nothing at all is known. CI restores the file from its
//! cache, so its shards balance on the durations of earlier runs.

use crate::events::Verdict;
use crate::summary::RunSummary;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How many recent durations are kept per test.
pub const SAMPLES: usize = 5;
/// The estimate of a test when nothing is known of any test of its arch.
pub const UNKNOWN: Duration = Duration::from_millis(1);

/// The file as written: `{"arches": {ARCH: {TEST: [MICROSECONDS, ...]}}, "version": 1}`.
#[derive(Deserialize)]
struct File {
    version: Value,
    arches: BTreeMap<String, BTreeMap<String, Vec<Value>>>,
}

/// Durations by arch, then by test name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Durations {
    arches: BTreeMap<String, BTreeMap<String, Vec<u64>>>,
}

/// Where the durations of a workspace are kept.
pub fn path(xtask_dir: &Path) -> PathBuf {
    xtask_dir.join("durations.json")
}

impl Durations {
    /// Reads the file; a missing file is no history. A file that does not parse is named
    /// and ignored: it only makes splits less even, never a run wrong.
    pub fn load(path: &Path) -> Durations {
        match std::fs::read(path) {
            Ok(bytes) => Durations::from_json(&bytes).unwrap_or_else(|error| {
                eprintln!("note: ignoring `{}`: {error:#}", path.display());
                Durations::default()
            }),
            Err(_) => Durations::default(),
        }
    }

    fn from_json(bytes: &[u8]) -> Result<Durations> {
        // Read into its own types, not through a `Value` tree of every test (a file of
        // 10,000 tests took 60 ms each way in a debug build); a sample that is not a whole
        // number of microseconds is dropped, the rest of its test's kept.
        let file: File = serde_json::from_slice(bytes).context("not a durations file")?;
        anyhow::ensure!(file.version == 1, "not version 1 of the durations file");
        let arches = file
            .arches
            .into_iter()
            .map(|(arch, tests)| {
                let tests = tests
                    .into_iter()
                    .map(|(name, samples)| (name, samples.iter().filter_map(Value::as_u64).collect()))
                    .collect();
                (arch, tests)
            })
            .collect();
        Ok(Durations { arches })
    }

    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Written<'d> {
            // serde_json's order for a `Value` object: sorted.
            arches: &'d BTreeMap<String, BTreeMap<String, Vec<u64>>>,
            version: u32,
        }
        serde_json::to_string(&Written { arches: &self.arches, version: 1 }).expect("a map of numbers serializes")
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        crate::fsutil::write_atomically(path, self.to_json().as_bytes())
    }

    /// Adds one duration of `test` on `arch`.
    pub fn record(&mut self, arch: &str, test: &str, duration: Duration) {
        let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        let samples = self.arches.entry(arch.to_string()).or_default().entry(test.to_string()).or_default();
        samples.push(micros);
        if samples.len() > SAMPLES {
            samples.remove(0);
        }
    }

    /// Adds every test that ran in `summary`: each attempt that passed or failed with a
    /// duration (a timeout's is its timeout: that is what it costs). Skipped and not-run
    /// tests cost nothing and teach nothing.
    pub fn record_run(&mut self, summary: &RunSummary) {
        for arch in &summary.arches {
            for outcome in &arch.outcomes {
                for attempt in &outcome.attempts {
                    if let (Verdict::Passed | Verdict::Failed(_), Some(duration)) = (&attempt.verdict, attempt.duration)
                    {
                        self.record(&arch.arch, &outcome.name, duration);
                    }
                }
            }
        }
    }

    /// The recent samples of `test` on `arch`, oldest first.
    pub fn samples(&self, arch: &str, test: &str) -> &[u64] {
        self.arches.get(arch).and_then(|tests| tests.get(test)).map_or(&[], Vec::as_slice)
    }

    /// The estimate of `test` on `arch`, if it has run before.
    pub fn known(&self, arch: &str, test: &str) -> Option<Duration> {
        median(self.samples(arch, test)).map(Duration::from_micros)
    }

    /// The estimates of `tests` on `arch`: known ones from their samples, the others the
    /// median of the known (or [`UNKNOWN`]).
    pub fn estimate(&self, arch: &str, tests: &[String]) -> Vec<Duration> {
        let of_arch = self.arches.get(arch);
        let known: Vec<Option<Duration>> = tests
            .iter()
            .map(|test| median(of_arch.and_then(|tests| tests.get(test))?).map(Duration::from_micros))
            .collect();
        let mut seen: Vec<u64> =
            known.iter().flatten().map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX)).collect();
        if seen.is_empty() {
            // None of these has run: what the arch's other tests took is the best guess.
            seen = self.arches.get(arch).into_iter().flat_map(|t| t.values().filter_map(|s| median(s))).collect();
        }
        let fallback = median_of_unsorted(&mut seen).map_or(UNKNOWN, Duration::from_micros);
        known.into_iter().map(|estimate| estimate.unwrap_or(fallback)).collect()
    }
}

fn median(samples: &[u64]) -> Option<u64> {
    // A test's few samples are sorted on the stack (this runs for every test of a plan).
    let mut few = [0; SAMPLES];
    match few.get_mut(..samples.len()) {
        Some(few) => {
            few.copy_from_slice(samples);
            median_of_unsorted(few)
        }
        None => median_of_unsorted(&mut samples.to_vec()),
    }
}

fn median_of_unsorted(values: &mut [u64]) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    Some(values[values.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(value: u64) -> Duration {
        Duration::from_millis(value)
    }

    #[test]
    fn the_estimate_is_the_median_of_the_last_samples() {
        let mut durations = Durations::default();
        for value in [10, 10, 500, 12, 11] {
            durations.record("riscv64", "a", ms(value));
        }
        assert_eq!(durations.known("riscv64", "a"), Some(ms(11)), "one slow run moves it little");
        for value in [1, 1, 1] {
            durations.record("riscv64", "a", ms(value));
        }
        assert_eq!(durations.samples("riscv64", "a").len(), SAMPLES, "only the last samples are kept");
        assert_eq!(durations.known("riscv64", "a"), Some(ms(1)));
        assert_eq!(durations.known("x86_64", "a"), None, "arches apart");
    }

    #[test]
    fn unknown_tests_get_the_median_of_the_known_or_a_default() {
        let mut durations = Durations::default();
        let names = ["a", "b", "c", "new"].map(String::from);
        assert_eq!(durations.estimate("aarch64", &names), vec![UNKNOWN; 4]);
        durations.record("aarch64", "a", ms(2));
        durations.record("aarch64", "b", ms(8));
        durations.record("aarch64", "c", ms(100));
        assert_eq!(durations.estimate("aarch64", &names), vec![ms(2), ms(8), ms(100), ms(8)]);
        // A selection of only new tests takes the arch's median.
        assert_eq!(durations.estimate("aarch64", &["new".to_string()]), vec![ms(8)]);
    }

    #[test]
    fn the_largest_samples_in_the_file_give_the_largest_estimates() {
        let max = u64::MAX;
        let json = format!(r#"{{"version":1,"arches":{{"x":{{"a":[{max},{max}],"b":[{max}],"c":[-1,1e300,0]}}}}}}"#);
        let durations = Durations::from_json(json.as_bytes()).unwrap();
        let names = ["a", "b", "c", "new"].map(String::from);
        let longest = Duration::from_micros(max);
        assert_eq!(durations.estimate("x", &names), vec![longest, longest, Duration::ZERO, longest]);
        let mut durations = durations;
        durations.record("x", "a", Duration::MAX);
        assert_eq!(durations.known("x", "a"), Some(longest));
    }

    #[test]
    fn the_file_round_trips_and_a_bad_one_is_ignored() {
        let mut durations = Durations::default();
        durations.record("x86_64", "kernel::tests::fmt_integers", Duration::from_micros(812));
        durations.record("x86_64", "kernel::\"quoted\"", Duration::from_micros(u64::MAX));
        durations.record("aarch64", "a", Duration::ZERO);
        let read = Durations::from_json(durations.to_json().as_bytes()).unwrap();
        assert_eq!(read, durations);
        // Written as the `Value` it once was built as.
        let value = serde_json::json!({ "version": 1, "arches": durations.arches });
        assert_eq!(durations.to_json(), serde_json::to_string(&value).unwrap());
        for bad in ["", "[]", r#"{"version":2,"arches":{}}"#, r#"{"version":1,"arches":{"x":[]}}"#] {
            assert!(Durations::from_json(bad.as_bytes()).is_err(), "{bad}");
        }
        let dir = crate::testutil::scratch_dir("durations-bad");
        let file = dir.join("durations.json");
        std::fs::write(&file, "{not json").unwrap();
        assert_eq!(Durations::load(&file), Durations::default());
        assert_eq!(Durations::load(&dir.join("missing.json")), Durations::default());
    }
}
