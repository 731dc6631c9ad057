//! The GDB stub's port on the virt boards, which have one UART each (QEMU 7.2 gives aarch64
//! `virt` and riscv64 `virt` a single PL011/16550 whatever `-serial` says): a virtio console
//! on one of the board's virtio-mmio slots, found through the device tree, driven by
//! `virtio-drivers`. Memory is identity-mapped on both (each arch's paging.rs),
//! so physical addresses are the ones to use.

use super::devicetree;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};
use virtio_drivers::device::console::VirtIOConsole;
use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use virtio_drivers::transport::{DeviceType, Transport};
use virtio_drivers::{BufferDirection, Hal, PhysAddr};

const PAGE: usize = 4096;
/// The console's queues and receive buffer need 6 pages; the rest is headroom.
const DMA_PAGES: usize = 16;

#[repr(C, align(4096))]
struct Arena([u8; DMA_PAGES * PAGE]);

/// Memory for the device's queues: never freed (the console lives as long as the kernel),
/// zero to begin with (`.bss`), as `Hal::dma_alloc` must return.
static mut ARENA: Arena = Arena([0; DMA_PAGES * PAGE]);
static ARENA_USED: AtomicUsize = AtomicUsize::new(0);

/// Identity-mapped, cache-coherent memory: sharing a buffer is handing over its address.
struct IdentityHal;

// SAFETY: the arena's pages are handed out once each and never reused; addresses are
// physical because memory is identity-mapped.
unsafe impl Hal for IdentityHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let start = ARENA_USED.fetch_add(pages * PAGE, Ordering::SeqCst);
        assert!(start + pages * PAGE <= DMA_PAGES * PAGE, "the virtio console needs more than {DMA_PAGES} pages");
        let address = (&raw mut ARENA) as usize + start;
        (address as PhysAddr, NonNull::new(address as *mut u8).expect("the arena is not at 0"))
    }

    unsafe fn dma_dealloc(_paddr: PhysAddr, _vaddr: NonNull<u8>, _pages: usize) -> i32 {
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, _size: usize) -> NonNull<u8> {
        NonNull::new(paddr as usize as *mut u8).expect("MMIO is not at 0")
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        buffer.cast::<u8>().as_ptr() as usize as PhysAddr
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
}

/// The first virtio console on the board, bytes to send kept until `flush` (one virtqueue
/// round trip per packet, not per byte) in a fixed buffer: the stub runs in trap handlers and
/// must not allocate.
pub struct Port {
    console: VirtIOConsole<IdentityHal, MmioTransport<'static>>,
    pending: [u8; 512],
    pending_len: usize,
}

impl Port {
    pub const NAME: &str = "virtio console (virtio-mmio)";

    pub fn open() -> Option<Port> {
        let tree = devicetree::boot_tree()?;
        for node in tree.all_nodes() {
            if !node.compatible().is_some_and(|compatible| compatible.all().any(|name| name == "virtio,mmio")) {
                continue;
            }
            let Some(region) = node.reg().and_then(|mut regions| regions.next()) else { continue };
            let Some(header) = NonNull::new(region.starting_address as *mut VirtIOHeader) else { continue };
            // SAFETY: the device tree says a virtio-mmio slot is there, of this size; nothing
            // else in the kernel uses virtio.
            let Ok(transport) = (unsafe { MmioTransport::new(header, region.size.unwrap_or(0x200)) }) else { continue };
            if transport.device_type() == DeviceType::Console
                && let Ok(console) = VirtIOConsole::new(transport)
            {
                return Some(Port { console, pending: [0; 512], pending_len: 0 });
            }
        }
        None
    }

    pub fn read(&mut self) -> Result<Option<u8>, &'static str> {
        self.console.recv(true).map_err(|_| "the virtio console failed to receive")
    }

    pub fn write(&mut self, byte: u8) -> Result<(), &'static str> {
        if self.pending_len == self.pending.len() {
            self.flush()?;
        }
        self.pending[self.pending_len] = byte;
        self.pending_len += 1;
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), &'static str> {
        if self.pending_len > 0 {
            let pending = &self.pending[..self.pending_len];
            self.console.send_bytes(pending).map_err(|_| "the virtio console failed to send")?;
            self.pending_len = 0;
        }
        Ok(())
    }
}
