//! What an entry of a bundle is.

/// The kind of an archive entry (or of a file of a directory bundle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EntryKind {
    /// A regular file (tar types `0`, NUL, `7`).
    File,
    /// A GNU sparse file (type `S`, or PAX `GNU.sparse.*`): its stored data is not its contents,
    /// so it is preserved but never read.
    SparseFile,
    /// A directory (type `5`, or GNU dump directory `D`).
    Directory,
    /// A symbolic link (type `2`).
    Symlink,
    /// A hard link to an earlier entry (type `1`).
    HardLink,
    /// A character device (type `3`).
    CharDevice,
    /// A block device (type `4`).
    BlockDevice,
    /// A FIFO (type `6`).
    Fifo,
    /// A PAX global extended header (type `g`): not a file, preserved as it is.
    GlobalHeader,
    /// A GNU volume label (type `V`): not a file, preserved as it is.
    VolumeLabel,
    /// Any other type flag, handled as a regular file as POSIX asks, but never read.
    Other {
        /// The type flag byte.
        type_flag: u8,
    },
}

impl EntryKind {
    /// The kind a tar type flag stands for (extension records `L`, `K`, `x` are not entries).
    pub(crate) fn from_type_flag(flag: u8) -> EntryKind {
        match flag {
            b'0' | 0 | b'7' => EntryKind::File,
            b'S' => EntryKind::SparseFile,
            b'1' => EntryKind::HardLink,
            b'2' => EntryKind::Symlink,
            b'3' => EntryKind::CharDevice,
            b'4' => EntryKind::BlockDevice,
            b'5' | b'D' => EntryKind::Directory,
            b'6' => EntryKind::Fifo,
            b'g' => EntryKind::GlobalHeader,
            b'V' => EntryKind::VolumeLabel,
            other => EntryKind::Other { type_flag: other },
        }
    }

    /// Whether the entry names a path in the file tree (global headers and volume labels do not).
    pub(crate) fn has_path(self) -> bool {
        !matches!(self, EntryKind::GlobalHeader | EntryKind::VolumeLabel)
    }

    /// Whether tar stores no data for this kind whatever its size says (like Go's reader).
    pub(crate) fn header_only(type_flag: u8) -> bool {
        matches!(type_flag, b'1' | b'2' | b'3' | b'4' | b'5' | b'6')
    }

    /// A short lowercase name (`file`, `directory`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::SparseFile => "sparse file",
            EntryKind::Directory => "directory",
            EntryKind::Symlink => "symlink",
            EntryKind::HardLink => "hard link",
            EntryKind::CharDevice => "character device",
            EntryKind::BlockDevice => "block device",
            EntryKind::Fifo => "fifo",
            EntryKind::GlobalHeader => "pax global header",
            EntryKind::VolumeLabel => "volume label",
            EntryKind::Other { .. } => "other",
        }
    }
}

/// One entry of an opened [`Bundle`](crate::Bundle), below its top directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryInfo {
    /// Path relative to the top directory, `/`-separated, without a trailing `/`
    /// (`cluster-resources/pods/default.json`); decoded lossily when not UTF-8.
    pub path: String,
    /// What it is.
    pub kind: EntryKind,
    /// Size of its data in bytes (0 for directories and links).
    pub size: u64,
    /// Permission bits as stored (`0o644`).
    pub mode: u32,
    /// Modification time, seconds since the Unix epoch.
    pub mtime: i64,
    /// Target of a symbolic or hard link, as stored.
    pub link_target: Option<String>,
}
