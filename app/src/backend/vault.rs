//! Client secrets sealed at rest: AES-256-GCM under a versioned master key.
//!
//! An identity provider's client secret must be sent to it in clear, so unlike session tokens it
//! cannot be stored as a digest. Sealing it keeps a copy of the database (a backup, a dump, a
//! replica) useless without the master key, which lives apart from it: in `ORGPASS_MASTER_KEY`
//! or in a mode-0600 key file. Every sealed value names the key it was sealed under, so keys
//! rotate without a flag day: new seals use the current key, and older keys stay in the ring to
//! open what they sealed.
//!
//! Nonces are 96 random bits, safe far beyond the number of secrets one key will ever seal.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit};
use base64::Engine;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use rand::Rng;
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretBox, SecretSlice};

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Operators paste keys from many tools: accept either alphabet, padded or not.
const ANY_PADDING: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_ANY: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, ANY_PADDING);
const URL_SAFE_ANY: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, ANY_PADDING);

const KEY_FILE_HEADER: &str = "\
# Orgpass master keys: `ID BASE64` lines; the highest ID seals new secrets.
# Keep every line and back this file up: a secret cannot be opened without the key it was sealed under.
";

type Key = SecretBox<[u8; KEY_LEN]>;

/// A secret as stored: the id of the key that sealed it, and `nonce || ciphertext || tag`.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: i64,
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed")
            .field("key_id", &self.key_id)
            .field("len", &self.bytes.len())
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The master key text is malformed (bad base64, wrong length, duplicate id, empty...).
    /// The message says what to fix and never echoes key material.
    #[error("malformed master key: {0}")]
    Malformed(String),
    /// A secret was sealed with key `id`, which the configured keys do not hold.
    #[error("the secret was sealed with master key {0}, which is not configured")]
    UnknownKey(i64),
    /// Key `id` is present but does not open the secret: a wrong master key (or tampered data,
    /// or the wrong context).
    #[error(
        "master key {0} does not open the secret: the key is not the one it was sealed with, \
         or the stored value was altered"
    )]
    WrongKey(i64),
    /// Reading or writing the key file failed.
    #[error("key file {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    /// `rotate` asked of keys that come from the environment: the operator must change
    /// `ORGPASS_MASTER_KEY` instead.
    #[error("keys from ORGPASS_MASTER_KEY cannot be rotated here; prepend a new entry to it")]
    NotRotatable,
}

enum Source {
    Env,
    File(PathBuf),
}

/// The keys in force. `current` is always one of `keys`: every constructor picks it among them.
struct Ring {
    keys: BTreeMap<i64, Key>,
    current: i64,
}

pub struct Vault {
    source: Source,
    ring: RwLock<Ring>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ring = self.ring();
        let source = match self.source {
            Source::Env => "env",
            Source::File(_) => "file",
        };
        f.debug_struct("Vault")
            .field("source", &source)
            .field("key_ids", &ring.keys.keys().collect::<Vec<_>>())
            .field("current_key_id", &ring.current)
            .finish()
    }
}

impl Vault {
    /// Keys from the `ORGPASS_MASTER_KEY` value: comma-separated `ID:BASE64` entries (standard
    /// or url-safe base64, padded or not, of exactly 32 bytes); the FIRST entry is the current key
    /// used for sealing; ids are positive integers, unique. A bare `BASE64` (no colon, one entry)
    /// means key id 1.
    pub fn from_env_value(value: &str) -> Result<Vault, VaultError> {
        // Stray commas and spaces are harmless: nothing in base64 or an id is a comma.
        let entries: Vec<&str> = value
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .collect();
        let mut keys = BTreeMap::new();
        let mut current = None;
        for (index, entry) in entries.iter().enumerate() {
            let at = format!("ORGPASS_MASTER_KEY entry {}", index + 1);
            let (id, key) = match entry.split_once(':') {
                Some((id, key)) => {
                    let id = parse_id(id.trim()).ok_or_else(|| {
                        // Not echoing the text: a swapped entry would put the key there.
                        VaultError::Malformed(format!(
                            "{at}: the part before ':' must be a positive integer key id"
                        ))
                    })?;
                    (id, key.trim())
                }
                None if entries.len() == 1 => (1, *entry),
                None => {
                    return Err(VaultError::Malformed(format!(
                        "{at}: write it as `ID:BASE64`; only a lone key may omit its id"
                    )));
                }
            };
            let key = decode_key(key).map_err(|why| {
                VaultError::Malformed(format!("{at} (key id {id}): the key {why}"))
            })?;
            insert_unique(&mut keys, id, key, "ORGPASS_MASTER_KEY")?;
            current.get_or_insert(id);
        }
        let current = current.ok_or_else(|| {
            VaultError::Malformed(
                "ORGPASS_MASTER_KEY is empty: set it to comma-separated `ID:BASE64` entries, \
                 each a base64-encoded 32-byte key"
                    .to_owned(),
            )
        })?;
        Ok(Vault {
            source: Source::Env,
            ring: RwLock::new(Ring { keys, current }),
        })
    }

    /// Keys from a key file (lines `ID BASE64`, blank lines and `#` comments ignored; the HIGHEST
    /// id is current). A missing file is created (its directory must exist), holding one fresh
    /// key with id 1, only if `create`; otherwise it is a [`VaultError::Io`] of kind `NotFound`. A file that group
    /// or others may access is refused: it would leak every secret to local users.
    pub fn from_key_file(path: &Path, create: bool) -> Result<Vault, VaultError> {
        let ring = match File::open(path) {
            Ok(mut file) => read_key_file(&mut file, path)?.1,
            Err(error) if create && error.kind() == io::ErrorKind::NotFound => {
                create_key_file(path)?
            }
            Err(source) => return Err(io_error(path, source)),
        };
        Ok(Vault {
            source: Source::File(path.to_path_buf()),
            ring: RwLock::new(ring),
        })
    }

    pub fn current_key_id(&self) -> i64 {
        self.ring().current
    }

    /// The ids of all keys held, ascending.
    pub fn key_ids(&self) -> Vec<i64> {
        self.ring().keys.keys().copied().collect()
    }

    /// Seals `plaintext` under the current key. `context` is bound as AES-GCM associated data
    /// (e.g. `"instance:acme-main:current"`) so that a ciphertext copied to another row or slot
    /// does not open.
    ///
    /// # Panics
    ///
    /// If `plaintext` or `context` is over 64 GiB, past what AES-GCM can seal.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Sealed {
        let ring = self.ring();
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill(&mut nonce);
        // Sized up front so that no reallocation leaves a stray copy of the plaintext behind.
        let mut bytes = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(plaintext);
        let sealed = cipher(&ring.keys[&ring.current]).encrypt_in_place_detached(
            &nonce.into(),
            context.as_bytes(),
            &mut bytes[NONCE_LEN..],
        );
        let Ok(tag) = sealed else {
            panic!(
                "a {}-byte secret is past AES-GCM's 64 GiB limit",
                plaintext.len()
            );
        };
        bytes.extend_from_slice(&tag);
        Sealed {
            key_id: ring.current,
            bytes,
        }
    }

    /// Opens a sealed value, returning a plaintext that is zeroized on drop. If the keys come
    /// from a file and lack `sealed.key_id`, the file is re-read once and the open retried:
    /// another process (`orgpass keys rotate`) may have added that key while this one runs.
    pub fn open(&self, sealed: &Sealed, context: &str) -> Result<SecretSlice<u8>, VaultError> {
        let opened = self.ring().open(sealed, context);
        let (Err(VaultError::UnknownKey(_)), Source::File(path)) = (&opened, &self.source) else {
            return opened;
        };
        let ring = load_key_file(path)?;
        let opened = ring.open(sealed, context);
        *self.ring_mut() = ring;
        opened
    }

    /// File keys only: appends a fresh random key with id `max + 1` to the file and makes it
    /// current. The file is replaced whole (temporary file, fsync, rename) so that a crash leaves
    /// either the old keys or the old keys plus the new one, never fewer.
    pub fn rotate(&self) -> Result<i64, VaultError> {
        let Source::File(path) = &self.source else {
            return Err(VaultError::NotRotatable);
        };
        let io = |source| io_error(path, source);
        // Held until the end: a concurrent rotation must extend this one's file, not the old one.
        let mut file = lock_key_file(path).map_err(io)?;
        let (text, mut ring) = read_key_file(&mut file, path)?;
        let id = ring.current.checked_add(1).ok_or_else(|| {
            VaultError::Malformed(format!(
                "{}: key id {} is the largest there can be",
                path.display(),
                ring.current
            ))
        })?;
        let key = random_key();
        let line = key_line(id, &key);
        let mut contents = Zeroizing::new(String::with_capacity(text.len() + 1 + line.len()));
        contents.push_str(&text);
        if !contents.is_empty() && !contents.ends_with('\n') {
            contents.push('\n');
        }
        contents.push_str(&line);
        let temp = write_temp(path, contents.as_bytes()).map_err(io)?;
        if let Err(source) = fs::rename(&temp, path) {
            // Best effort: the rename's error is the one worth reporting.
            let _ = fs::remove_file(&temp);
            return Err(io(source));
        }
        sync_dir(path).map_err(io)?;
        ring.keys.insert(id, key);
        ring.current = id;
        *self.ring_mut() = ring;
        Ok(id)
    }

    /// A fresh random key formatted as an `ORGPASS_MASTER_KEY` entry `ID:BASE64`, for operators.
    /// `id` should be positive, as `from_env_value` requires.
    pub fn generate_env_entry(id: i64) -> String {
        format!("{id}:{}", STANDARD.encode(random_key().expose_secret()))
    }

    fn ring(&self) -> RwLockReadGuard<'_, Ring> {
        self.ring.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn ring_mut(&self) -> RwLockWriteGuard<'_, Ring> {
        self.ring.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Ring {
    fn open(&self, sealed: &Sealed, context: &str) -> Result<SecretSlice<u8>, VaultError> {
        let id = sealed.key_id;
        let key = self.keys.get(&id).ok_or(VaultError::UnknownKey(id))?;
        let (nonce, rest) = sealed
            .bytes
            .split_first_chunk::<NONCE_LEN>()
            .ok_or(VaultError::WrongKey(id))?;
        let (ciphertext, tag) = rest
            .split_last_chunk::<TAG_LEN>()
            .ok_or(VaultError::WrongKey(id))?;
        // An exact-size box, decrypted in place: no copy of the plaintext escapes the SecretBox.
        let mut plaintext: Box<[u8]> = ciphertext.into();
        cipher(key)
            .decrypt_in_place_detached(
                &(*nonce).into(),
                context.as_bytes(),
                &mut plaintext,
                &(*tag).into(),
            )
            .map_err(|_| VaultError::WrongKey(id))?;
        Ok(SecretBox::new(plaintext))
    }
}

fn cipher(key: &Key) -> Aes256Gcm {
    Aes256Gcm::new(key.expose_secret().into())
}

fn random_key() -> Key {
    SecretBox::init_with_mut(|key: &mut [u8; KEY_LEN]| rand::rng().fill(key))
}

fn parse_id(text: &str) -> Option<i64> {
    text.parse().ok().filter(|id| *id > 0)
}

/// Decodes one key, or says what is wrong with it without repeating it.
fn decode_key(text: &str) -> Result<Key, String> {
    let bytes = STANDARD_ANY
        .decode(text)
        .or_else(|_| URL_SAFE_ANY.decode(text))
        .map(Zeroizing::new)
        .map_err(|_| "is not valid base64".to_owned())?;
    if bytes.len() != KEY_LEN {
        return Err(format!(
            "decodes to {} bytes; it must be exactly {KEY_LEN}",
            bytes.len()
        ));
    }
    Ok(SecretBox::init_with_mut(|key: &mut [u8; KEY_LEN]| {
        key.copy_from_slice(&bytes)
    }))
}

fn insert_unique(
    keys: &mut BTreeMap<i64, Key>,
    id: i64,
    key: Key,
    origin: &str,
) -> Result<(), VaultError> {
    if keys.insert(id, key).is_some() {
        return Err(VaultError::Malformed(format!(
            "{origin}: key id {id} appears twice; give each key its own id"
        )));
    }
    Ok(())
}

fn key_line(id: i64, key: &Key) -> Zeroizing<String> {
    let mut line = Zeroizing::new(String::with_capacity(24 + KEY_LEN * 2));
    line.push_str(&format!("{id} "));
    STANDARD.encode_string(key.expose_secret(), &mut line);
    line.push('\n');
    line
}

fn io_error(path: &Path, source: io::Error) -> VaultError {
    VaultError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn load_key_file(path: &Path) -> Result<Ring, VaultError> {
    let mut file = File::open(path).map_err(|source| io_error(path, source))?;
    Ok(read_key_file(&mut file, path)?.1)
}

/// Reads an open key file: its text (to extend on rotation) and its keys.
fn read_key_file(file: &mut File, path: &Path) -> Result<(Zeroizing<String>, Ring), VaultError> {
    let mode = file
        .metadata()
        .map_err(|source| io_error(path, source))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(VaultError::Malformed(format!(
            "{} may be read or changed by group or others (mode {:o}); run `chmod 600 {}`",
            path.display(),
            mode & 0o777,
            path.display()
        )));
    }
    let mut text = Zeroizing::new(String::new());
    file.read_to_string(&mut text)
        .map_err(|source| io_error(path, source))?;
    let ring = parse_key_file(&text, path)?;
    Ok((text, ring))
}

fn parse_key_file(text: &str, path: &Path) -> Result<Ring, VaultError> {
    let origin = path.display().to_string();
    let mut keys = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = format!("{origin}: line {}", index + 1);
        let mut fields = line.split_whitespace();
        let (Some(id), Some(key), None) = (fields.next(), fields.next(), fields.next()) else {
            return Err(VaultError::Malformed(format!("{at}: expected `ID BASE64`")));
        };
        let id = parse_id(id).ok_or_else(|| {
            VaultError::Malformed(format!("{at}: the id must be a positive integer"))
        })?;
        let key = decode_key(key)
            .map_err(|why| VaultError::Malformed(format!("{at} (key id {id}): the key {why}")))?;
        insert_unique(&mut keys, id, key, &origin)?;
    }
    let current = keys.keys().next_back().copied().ok_or_else(|| {
        VaultError::Malformed(format!(
            "{origin} holds no key: restore it from a backup, or delete it to start afresh \
             (secrets sealed before then are lost)"
        ))
    })?;
    Ok(Ring { keys, current })
}

fn create_key_file(path: &Path) -> Result<Ring, VaultError> {
    let key = random_key();
    let mut contents = Zeroizing::new(KEY_FILE_HEADER.to_owned());
    contents.push_str(&key_line(1, &key));
    let temp = write_temp(path, contents.as_bytes()).map_err(|source| io_error(path, source))?;
    // A hard link publishes the file complete, and never replaces one that another process
    // created meanwhile (and may already seal with), as a rename would.
    let linked = fs::hard_link(&temp, path);
    // Best effort: the temporary name only adds a second link to the same mode-0600 file.
    let _ = fs::remove_file(&temp);
    match linked {
        Ok(()) => {
            sync_dir(path).map_err(|source| io_error(path, source))?;
            Ok(Ring {
                keys: BTreeMap::from([(1, key)]),
                current: 1,
            })
        }
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => load_key_file(path),
        Err(source) => Err(io_error(path, source)),
    }
}

/// Opens the key file locked against other rotations. The lock belongs to the inode, and a
/// rotation renames a new inode over the path: so after locking, check that the path still
/// names the locked inode, or this rotation would extend stale contents and drop a key.
fn lock_key_file(path: &Path) -> io::Result<File> {
    loop {
        let file = File::open(path)?;
        file.lock()?;
        let locked = file.metadata()?;
        let named = fs::metadata(path)?;
        if (locked.dev(), locked.ino()) == (named.dev(), named.ino()) {
            return Ok(file);
        }
    }
}

/// Writes `contents` to a new mode-0600 file beside `path`, synced to disk, and returns its path.
fn write_temp(path: &Path, contents: &[u8]) -> io::Result<PathBuf> {
    let mut name = OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(".{:016x}.tmp", rand::random::<u64>()));
    let temp = key_dir(path).join(name);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)?;
    if let Err(error) = file.write_all(contents).and_then(|()| file.sync_all()) {
        // Best effort: the write's error is the one worth reporting.
        let _ = fs::remove_file(&temp);
        return Err(error);
    }
    Ok(temp)
}

/// Makes a new name in the key file's directory durable, not only the file's contents.
fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(key_dir(path))?.sync_all()
}

fn key_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use std::sync::Arc;

    fn key_text(byte: u8) -> String {
        STANDARD.encode([byte; KEY_LEN])
    }

    fn env_vault(value: &str) -> Vault {
        Vault::from_env_value(value).unwrap()
    }

    fn opened(vault: &Vault, sealed: &Sealed, context: &str) -> Vec<u8> {
        vault
            .open(sealed, context)
            .unwrap()
            .expose_secret()
            .to_vec()
    }

    fn malformed_message(result: Result<Vault, VaultError>) -> String {
        match result {
            Err(VaultError::Malformed(message)) => message,
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    fn write_mode(path: &Path, contents: &str, mode: u32) {
        fs::write(path, contents).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_sealed_secret_opens_to_its_plaintext() {
        let vault = env_vault(&format!("1:{}", key_text(7)));
        let sealed = vault.seal(b"client-secret", "instance:acme:current");
        assert_eq!(sealed.key_id, 1);
        assert_eq!(
            sealed.bytes.len(),
            NONCE_LEN + b"client-secret".len() + TAG_LEN
        );
        assert_eq!(
            opened(&vault, &sealed, "instance:acme:current"),
            b"client-secret"
        );
        assert_eq!(opened(&vault, &vault.seal(b"", "empty"), "empty"), b"");
    }

    #[test]
    fn a_secret_does_not_open_under_another_context() {
        let vault = env_vault(&key_text(7));
        let sealed = vault.seal(b"client-secret", "instance:acme:current");
        let result = vault.open(&sealed, "instance:other:current");
        assert!(matches!(result, Err(VaultError::WrongKey(1))));
    }

    #[test]
    fn any_flipped_byte_or_truncation_keeps_a_secret_shut() {
        let vault = env_vault(&key_text(7));
        let sealed = vault.seal(b"client-secret", "ctx");
        for index in 0..sealed.bytes.len() {
            let mut tampered = sealed.clone();
            tampered.bytes[index] ^= 0x01;
            assert!(matches!(
                vault.open(&tampered, "ctx"),
                Err(VaultError::WrongKey(1))
            ));
        }
        for len in [
            0,
            NONCE_LEN,
            NONCE_LEN + TAG_LEN - 1,
            sealed.bytes.len() - 1,
        ] {
            let truncated = Sealed {
                key_id: 1,
                bytes: sealed.bytes[..len].to_vec(),
            };
            assert!(matches!(
                vault.open(&truncated, "ctx"),
                Err(VaultError::WrongKey(1))
            ));
        }
    }

    #[test]
    fn another_key_under_the_same_id_is_a_wrong_key() {
        let sealed = env_vault(&format!("1:{}", key_text(7))).seal(b"secret", "ctx");
        let other = env_vault(&format!("1:{}", key_text(8)));
        assert!(matches!(
            other.open(&sealed, "ctx"),
            Err(VaultError::WrongKey(1))
        ));
    }

    #[test]
    fn a_key_id_the_vault_lacks_is_unknown() {
        let sealed = env_vault(&format!("3:{}", key_text(7))).seal(b"secret", "ctx");
        let vault = env_vault(&format!("1:{},2:{}", key_text(7), key_text(8)));
        assert!(matches!(
            vault.open(&sealed, "ctx"),
            Err(VaultError::UnknownKey(3))
        ));
    }

    #[test]
    fn the_first_env_entry_is_current_and_every_entry_opens() {
        let old = env_vault(&format!("1:{}", key_text(1))).seal(b"old", "ctx");
        let vault = env_vault(&format!(" 2 : {} , 1:{} ", key_text(2), key_text(1)));
        assert_eq!(vault.current_key_id(), 2);
        assert_eq!(vault.key_ids(), vec![1, 2]);
        assert_eq!(vault.seal(b"new", "ctx").key_id, 2);
        assert_eq!(opened(&vault, &old, "ctx"), b"old");

        let first_is_lower = env_vault(&format!("1:{},2:{}", key_text(1), key_text(2)));
        assert_eq!(first_is_lower.current_key_id(), 1);
        let stray_commas = env_vault(&format!(",2:{},,1:{},", key_text(2), key_text(1)));
        assert_eq!(stray_commas.key_ids(), vec![1, 2]);
        assert_eq!(stray_commas.current_key_id(), 2);
    }

    #[test]
    fn a_bare_env_key_is_key_one_in_either_base64_alphabet() {
        let bytes = [0xfb; KEY_LEN];
        let standard = env_vault(&STANDARD.encode(bytes));
        assert_eq!(standard.key_ids(), vec![1]);
        assert_eq!(standard.current_key_id(), 1);
        let url_safe = env_vault(&URL_SAFE_NO_PAD.encode(bytes));
        let sealed = standard.seal(b"secret", "ctx");
        assert_eq!(opened(&url_safe, &sealed, "ctx"), b"secret");
    }

    #[test]
    fn malformed_env_values_are_refused_without_echoing_the_key() {
        let good = key_text(1);
        let short = STANDARD.encode([1u8; KEY_LEN - 1]);
        let not_base64 = "this-is-not*base64!!";
        let cases = [
            (not_base64.to_owned(), not_base64.to_owned()),
            (format!("1:{not_base64}"), not_base64.to_owned()),
            (format!("1:{short}"), short.clone()),
            (short.clone(), short.clone()),
            (format!("1:{good},1:{}", key_text(2)), good.clone()),
            (format!("0:{good}"), good.clone()),
            (format!("-3:{good}"), good.clone()),
            (format!("{good}:1"), good.clone()),
            (format!("1:{good},{}", key_text(2)), good.clone()),
            (",".to_owned(), good.clone()),
            (String::new(), good.clone()),
            ("  ".to_owned(), good.clone()),
        ];
        for (value, secret) in cases {
            let message = malformed_message(Vault::from_env_value(&value));
            assert!(
                !message.contains(&secret),
                "{value:?} echoed in {message:?}"
            );
            assert!(
                !message.contains(&key_text(2)),
                "{value:?} echoed in {message:?}"
            );
            assert!(message.contains("ORGPASS_MASTER_KEY"), "{message:?}");
        }
        let duplicate = malformed_message(Vault::from_env_value(&format!("1:{good},1:{good}")));
        assert!(
            duplicate.contains("key id 1 appears twice"),
            "{duplicate:?}"
        );
        let short = malformed_message(Vault::from_env_value(&short));
        assert!(short.contains("31 bytes"), "{short:?}");
    }

    #[test]
    fn a_generated_env_entry_is_a_valid_fresh_key() {
        let entry = Vault::generate_env_entry(5);
        assert!(entry.starts_with("5:"));
        let vault = env_vault(&entry);
        assert_eq!(vault.current_key_id(), 5);
        assert_ne!(entry, Vault::generate_env_entry(5));
    }

    #[test]
    fn a_created_key_file_is_private_and_reopens_to_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.keys");
        let first = Vault::from_key_file(&path, true).unwrap();
        assert_eq!(mode_of(&path), 0o600);
        assert_eq!(first.key_ids(), vec![1]);
        let sealed = first.seal(b"secret", "ctx");

        let second = Vault::from_key_file(&path, true).unwrap();
        assert_eq!(opened(&second, &sealed, "ctx"), b"secret");
        let third = Vault::from_key_file(&path, false).unwrap();
        assert_eq!(opened(&third, &sealed, "ctx"), b"secret");
        // No temporary file is left beside it.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_missing_key_file_is_created_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.keys");
        match Vault::from_key_file(&path, false) {
            Err(VaultError::Io {
                path: reported,
                source,
            }) => {
                assert_eq!(source.kind(), io::ErrorKind::NotFound);
                assert_eq!(reported, path);
            }
            other => panic!("expected Io, got {other:?}"),
        }
        assert!(!path.exists());
    }

    #[test]
    fn a_key_file_others_can_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.keys");
        write_mode(&path, &format!("1 {}\n", key_text(1)), 0o644);
        let message = malformed_message(Vault::from_key_file(&path, true));
        assert!(message.contains("chmod 600"), "{message:?}");
        assert!(!message.contains(&key_text(1)));
    }

    #[test]
    fn a_key_file_skips_comments_and_makes_the_highest_id_current() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.keys");
        let text = format!(
            "# keys\n\n  3 {}\n# old\n1\t{}  \n",
            key_text(3),
            key_text(1)
        );
        write_mode(&path, &text, 0o600);
        let vault = Vault::from_key_file(&path, false).unwrap();
        assert_eq!(vault.key_ids(), vec![1, 3]);
        assert_eq!(vault.current_key_id(), 3);
        let sealed = env_vault(&format!("1:{}", key_text(1))).seal(b"secret", "ctx");
        assert_eq!(opened(&vault, &sealed, "ctx"), b"secret");
    }

    #[test]
    fn a_malformed_key_file_names_the_line_but_not_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.keys");
        let short = STANDARD.encode([1u8; KEY_LEN - 1]);
        for (text, line) in [
            (format!("1 {}\n2 {short}\n", key_text(1)), "line 2"),
            (format!("# c\n1 {} extra\n", key_text(1)), "line 2"),
            (format!("{}\n", key_text(1)), "line 1"),
            (
                format!("1 {}\n1 {}\n", key_text(1), key_text(2)),
                "appears twice",
            ),
            ("# nothing\n".to_owned(), "holds no key"),
        ] {
            write_mode(&path, &text, 0o600);
            let message = malformed_message(Vault::from_key_file(&path, false));
            assert!(message.contains(line), "{message:?}");
            for secret in [key_text(1), key_text(2), short.clone()] {
                assert!(!message.contains(&secret), "{message:?}");
            }
        }
    }

    #[test]
    fn rotation_adds_a_key_that_other_vaults_on_the_file_pick_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.keys");
        let server = Vault::from_key_file(&path, true).unwrap();
        let other = Vault::from_key_file(&path, false).unwrap();
        let before = fs::read_to_string(&path).unwrap();
        let old = server.seal(b"old", "ctx");

        assert_eq!(server.rotate().unwrap(), 2);
        assert_eq!(server.current_key_id(), 2);
        assert_eq!(server.key_ids(), vec![1, 2]);
        let new = server.seal(b"new", "ctx");
        assert_eq!(new.key_id, 2);
        assert_eq!(opened(&server, &old, "ctx"), b"old");

        // The file kept its old lines and its mode, and nothing else was left in the directory.
        assert!(fs::read_to_string(&path).unwrap().starts_with(&before));
        assert_eq!(mode_of(&path), 0o600);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

        // A vault that read the file before the rotation re-reads it for the unknown key.
        assert_eq!(other.key_ids(), vec![1]);
        assert_eq!(opened(&other, &new, "ctx"), b"new");
        assert_eq!(other.current_key_id(), 2);
        assert_eq!(opened(&other, &old, "ctx"), b"old");
    }

    #[test]
    fn a_key_id_missing_from_the_file_too_stays_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.keys");
        let vault = Vault::from_key_file(&path, true).unwrap();
        let stranger = env_vault(&format!("9:{}", key_text(9))).seal(b"secret", "ctx");
        assert!(matches!(
            vault.open(&stranger, "ctx"),
            Err(VaultError::UnknownKey(9))
        ));
        assert_eq!(vault.key_ids(), vec![1]);
    }

    #[test]
    fn concurrent_rotations_lose_no_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.keys");
        Vault::from_key_file(&path, true).unwrap();
        let vaults: Vec<Arc<Vault>> = (0..4)
            .map(|_| Arc::new(Vault::from_key_file(&path, false).unwrap()))
            .collect();
        let threads: Vec<_> = vaults
            .iter()
            .map(|vault| {
                let vault = Arc::clone(vault);
                std::thread::spawn(move || {
                    (0..3).map(|_| vault.rotate().unwrap()).collect::<Vec<_>>()
                })
            })
            .collect();
        let mut ids: Vec<i64> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        ids.sort_unstable();
        assert_eq!(ids, (2..=13).collect::<Vec<_>>());
        let reread = Vault::from_key_file(&path, false).unwrap();
        assert_eq!(reread.key_ids(), (1..=13).collect::<Vec<_>>());
    }

    #[test]
    fn env_keys_cannot_be_rotated() {
        let vault = env_vault(&key_text(7));
        assert!(matches!(vault.rotate(), Err(VaultError::NotRotatable)));
        assert_eq!(vault.key_ids(), vec![1]);
    }

    #[test]
    fn two_seals_of_one_plaintext_differ() {
        let vault = env_vault(&key_text(7));
        let first = vault.seal(b"secret", "ctx");
        let second = vault.seal(b"secret", "ctx");
        assert_ne!(first, second);
        assert_ne!(first.bytes[..NONCE_LEN], second.bytes[..NONCE_LEN]);
    }

    #[test]
    fn debug_output_shows_ids_but_no_key_material() {
        let vault = env_vault(&format!("2:{},1:{}", key_text(2), key_text(1)));
        let shown = format!("{vault:?}");
        assert_eq!(
            shown,
            r#"Vault { source: "env", key_ids: [1, 2], current_key_id: 2 }"#
        );

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.keys");
        let vault = Vault::from_key_file(&path, true).unwrap();
        let key = fs::read_to_string(&path)
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .replace("1 ", "");
        let shown = format!("{vault:?} {:?}", vault.seal(b"secret", "ctx"));
        assert!(!shown.contains(&key), "{shown}");
        assert!(shown.contains(r#"source: "file""#), "{shown}");
        assert!(shown.contains("Sealed { key_id: 1, len: 34 }"), "{shown}");
    }
}
