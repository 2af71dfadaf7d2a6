//! Finding the master key at start-up: `UNIFORM_MASTER_KEY`, else `<data-dir>/master.key`
//! (created with mode 0600 on first start), and writing key files safely.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};

use rand::rngs::OsRng;
use rand::RngCore;
use zeroize::Zeroizing;

use super::key::{KeyError, KeyOrigin, MasterKey};

/// Name of the key file inside the data directory.
pub const KEY_FILE_NAME: &str = "master.key";

/// The environment variable that, when set, holds the master key (base64) and wins over
/// the key file.
pub const MASTER_KEY_ENV: &str = "UNIFORM_MASTER_KEY";

/// Upper bound on the key file size we are willing to read (a key file is 45 bytes).
const MAX_KEY_FILE_LEN: u64 = 4096;

/// Where the master key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The `UNIFORM_MASTER_KEY` environment variable.
    Env,
    /// A key file.
    File(PathBuf),
}

/// The master key found (or created) at start-up.
#[derive(Debug)]
pub struct LoadedKey {
    /// The key.
    pub key: MasterKey,
    /// Where it came from.
    pub source: KeySource,
    /// Whether the key was generated just now (the key file did not exist).
    pub created: bool,
}

/// Finds the master key: `env_value` (the value of `UNIFORM_MASTER_KEY`) when given,
/// else the file `<data_dir>/master.key`, which is generated with mode 0600 when missing.
///
/// An existing key file that its group or others can access in any way is refused, as is
/// one whose content is not base64 of 32 bytes (surrounding whitespace, such as a
/// trailing newline, is ignored). The data directory must already exist.
pub fn load_or_create_master_key(
    env_value: Option<&str>,
    data_dir: &Path,
) -> Result<LoadedKey, KeyError> {
    if let Some(text) = env_value {
        let key = MasterKey::from_base64(text.trim()).map_err(|e| e.with_origin(KeyOrigin::Env))?;
        return Ok(LoadedKey {
            key,
            source: KeySource::Env,
            created: false,
        });
    }

    let path = data_dir.join(KEY_FILE_NAME);
    match read_key_file(&path) {
        Ok(key) => Ok(loaded_from_file(key, path, false)),
        Err(KeyError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            let key = MasterKey::generate();
            match create_key_file(&path, &key) {
                Ok(()) => Ok(loaded_from_file(key, path, true)),
                // Another process created it between our read and our create: use theirs.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    read_key_file(&path).map(|key| loaded_from_file(key, path, false))
                }
                Err(source) => Err(KeyError::Io {
                    path,
                    action: "create",
                    source,
                }),
            }
        }
        Err(e) => Err(e),
    }
}

fn loaded_from_file(key: MasterKey, path: PathBuf, created: bool) -> LoadedKey {
    LoadedKey {
        key,
        source: KeySource::File(path),
        created,
    }
}

/// Reads and parses an existing key file, refusing one that group or others can access.
pub fn read_key_file(path: &Path) -> Result<MasterKey, KeyError> {
    let io_err = |source: io::Error| KeyError::Io {
        path: path.to_path_buf(),
        action: "read",
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    // Check the file we actually opened, not the path (which could be swapped meanwhile).
    let meta = file.metadata().map_err(io_err)?;
    if !meta.is_file() {
        return Err(KeyError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    check_owner_only(path, &meta)?;

    let mut text = Zeroizing::new(String::with_capacity(64));
    file.take(MAX_KEY_FILE_LEN)
        .read_to_string(&mut text)
        .map_err(|source| match source.kind() {
            // Not UTF-8 text: report it as malformed content rather than an I/O failure.
            io::ErrorKind::InvalidData => KeyError::NotBase64 {
                origin: KeyOrigin::File(path.to_path_buf()),
            },
            _ => io_err(source),
        })?;
    MasterKey::from_base64(text.trim())
        .map_err(|e| e.with_origin(KeyOrigin::File(path.to_path_buf())))
}

#[cfg(unix)]
fn check_owner_only(path: &Path, meta: &fs::Metadata) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyError::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_owner_only(_path: &Path, _meta: &fs::Metadata) -> Result<(), KeyError> {
    Ok(())
}

/// Opens `path` for writing with mode 0600, failing if it already exists.
fn create_owner_only(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

/// Writes the key's base64 and a newline to `file`, flushed to disk.
fn write_key_to(mut file: &File, key: &MasterKey) -> io::Result<()> {
    let mut line = Zeroizing::new(key.to_base64());
    line.push('\n');
    file.write_all(line.as_bytes())?;
    file.sync_all()
}

/// Creates `path` (which must not exist) holding `key`, mode 0600. On a write failure the
/// partial file is removed so the next start does not find a truncated key.
fn create_key_file(path: &Path, key: &MasterKey) -> io::Result<()> {
    let file = create_owner_only(path)?;
    if let Err(e) = write_key_to(&file, key) {
        drop(file);
        let _ = fs::remove_file(path);
        return Err(e);
    }
    sync_parent_dir(path);
    Ok(())
}

/// Best effort: makes a new directory entry durable (a lost key file means lost secrets).
fn sync_parent_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Writes `key` to `path` (base64 and a newline), replacing any existing file atomically:
/// the key goes to a new mode-0600 temporary file in the same directory, which is flushed
/// to disk and then renamed over `path`. Used by key rotation.
pub fn write_key_file(path: &Path, key: &MasterKey) -> io::Result<()> {
    let file_name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "key file path has no file name",
        )
    })?;
    let mut suffix = [0u8; 8];
    OsRng.fill_bytes(&mut suffix);
    let suffix: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".tmp-{suffix}"));
    let tmp = path.with_file_name(tmp_name);

    let file = create_owner_only(&tmp)?;
    let result = write_key_to(&file, key).and_then(|()| {
        drop(file);
        fs::rename(&tmp, path)
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    sync_parent_dir(path);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn creates_0600_file_on_first_call_and_reuses_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE_NAME);

        let first = load_or_create_master_key(None, dir.path()).unwrap();
        assert!(first.created);
        assert_eq!(first.source, KeySource::File(path.clone()));
        assert_eq!(mode_of(&path), 0o600);
        let content = fs::read_to_string(&path).unwrap();
        assert_eq!(content, format!("{}\n", first.key.to_base64()));

        let second = load_or_create_master_key(None, dir.path()).unwrap();
        assert!(!second.created);
        assert_eq!(second.source, KeySource::File(path));
        assert_eq!(second.key, first.key);
        assert_eq!(second.key.key_id(), first.key.key_id());
    }

    #[test]
    fn refuses_group_or_world_accessible_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE_NAME);
        let key = MasterKey::generate();
        for mode in [0o644, 0o640, 0o604, 0o660, 0o601, 0o610] {
            fs::write(&path, format!("{}\n", key.to_base64())).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            let err = load_or_create_master_key(None, dir.path()).unwrap_err();
            assert!(
                matches!(err, KeyError::InsecurePermissions { mode: m, .. } if m == mode),
                "{err}"
            );
            let msg = err.to_string();
            assert!(msg.contains(&path.display().to_string()), "{msg}");
            assert!(msg.contains("readable only by its owner"), "{msg}");
            assert!(
                msg.contains(&format!("chmod 600 {}", path.display())),
                "{msg}"
            );
            assert!(!msg.contains(&key.to_base64()));
            fs::remove_file(&path).unwrap();
        }
        // 0400 is fine.
        fs::write(&path, key.to_base64()).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        let loaded = load_or_create_master_key(None, dir.path()).unwrap();
        assert_eq!(loaded.key, key);
    }

    #[test]
    fn rejects_malformed_file_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE_NAME);
        let short = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [1u8; 31]);
        let cases: [&[u8]; 5] = [
            b"",
            b"hello world",
            short.as_bytes(),
            b"\xff\xfe\x00",
            b"\n",
        ];
        for content in cases {
            fs::write(&path, content).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
            let err = load_or_create_master_key(None, dir.path()).unwrap_err();
            assert!(
                matches!(
                    &err,
                    KeyError::NotBase64 { origin: KeyOrigin::File(p) }
                        | KeyError::WrongLength { origin: KeyOrigin::File(p), .. }
                        if *p == path
                ),
                "{content:?}: {err:?}"
            );
            assert!(err
                .to_string()
                .starts_with(&format!("{}: ", path.display())));
            // The malformed file is left alone, not replaced by a new key.
            assert_eq!(fs::read(&path).unwrap(), content);
        }
        fs::write(&path, short.as_bytes()).unwrap();
        let err = load_or_create_master_key(None, dir.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: must be base64 of exactly 32 bytes (got 31 bytes)",
                path.display()
            )
        );
    }

    #[test]
    fn accepts_surrounding_whitespace_in_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE_NAME);
        let key = MasterKey::generate();
        fs::write(&path, format!("{}\r\n", key.to_base64())).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let loaded = load_or_create_master_key(None, dir.path()).unwrap();
        assert_eq!(loaded.key, key);
        assert!(!loaded.created);
    }

    #[test]
    fn env_value_wins_over_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE_NAME);
        let file_key = MasterKey::generate();
        write_key_file(&path, &file_key).unwrap();
        let env_key = MasterKey::generate();

        let loaded = load_or_create_master_key(Some(&env_key.to_base64()), dir.path()).unwrap();
        assert_eq!(loaded.key, env_key);
        assert_eq!(loaded.source, KeySource::Env);
        assert!(!loaded.created);
    }

    #[test]
    fn env_value_does_not_create_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let env_key = MasterKey::generate();
        let text = format!("{}\n", env_key.to_base64());
        let loaded = load_or_create_master_key(Some(&text), dir.path()).unwrap();
        assert_eq!(loaded.key, env_key);
        assert!(!dir.path().join(KEY_FILE_NAME).exists());
    }

    #[test]
    fn bad_env_value_names_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_or_create_master_key(Some("AAAA"), dir.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "UNIFORM_MASTER_KEY: must be base64 of exactly 32 bytes (got 3 bytes)"
        );
        let err = load_or_create_master_key(Some("%%%"), dir.path()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("UNIFORM_MASTER_KEY: is not valid base64"),
            "{err}"
        );
        assert!(!err.to_string().contains('\n'));
        // A bad env value is an error even when a good key file exists.
        write_key_file(&dir.path().join(KEY_FILE_NAME), &MasterKey::generate()).unwrap();
        assert!(load_or_create_master_key(Some(""), dir.path()).is_err());
    }

    #[test]
    fn missing_data_dir_is_an_io_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let err = load_or_create_master_key(None, &missing).unwrap_err();
        assert!(
            matches!(
                err,
                KeyError::Io {
                    action: "create",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err
            .to_string()
            .contains(&missing.join(KEY_FILE_NAME).display().to_string()));
    }

    #[test]
    fn directory_in_place_of_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE_NAME);
        fs::create_dir(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o700)).unwrap();
        let err = load_or_create_master_key(None, dir.path()).unwrap_err();
        assert!(matches!(err, KeyError::NotAFile { .. }), "{err}");
    }

    #[test]
    fn write_key_file_replaces_atomically_with_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE_NAME);
        let old = load_or_create_master_key(None, dir.path()).unwrap().key;

        let new = MasterKey::generate();
        write_key_file(&path, &new).unwrap();
        assert_eq!(mode_of(&path), 0o600);
        assert_eq!(read_key_file(&path).unwrap(), new);
        assert_ne!(read_key_file(&path).unwrap(), old);
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(KEY_FILE_NAME)]);

        let loaded = load_or_create_master_key(None, dir.path()).unwrap();
        assert_eq!(loaded.key, new);
    }

    #[test]
    fn write_key_file_fails_cleanly_on_bad_paths() {
        // Writing into a missing directory fails cleanly.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join(KEY_FILE_NAME);
        assert!(write_key_file(&path, &MasterKey::generate()).is_err());
        assert!(write_key_file(Path::new("/"), &MasterKey::generate()).is_err());
    }
}
