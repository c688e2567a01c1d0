// faultfs: a loopback file system over a directory whose fsync fails with
// EIO while a trigger file exists. The embedded store's test of a failed sync
// of its log runs the server on it (test/embedded-sync-failure.test.ts): a
// sync cannot be made to fail on demand on a real disk.
//
//	faultfs BACKING_DIR MOUNTPOINT TRIGGER_FILE
//
// It mounts, prints "mounted", and unmounts on SIGTERM or SIGINT.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

var trigger string

// node is a loopback node whose Fsync fails while the trigger exists.
type node struct {
	fs.LoopbackNode
}

var _ = (fs.NodeFsyncer)((*node)(nil))

func (n *node) Fsync(ctx context.Context, f fs.FileHandle, flags uint32) syscall.Errno {
	if _, err := os.Stat(trigger); err == nil {
		return syscall.EIO
	}
	if syncer, ok := f.(fs.FileFsyncer); ok {
		return syncer.Fsync(ctx, flags)
	}
	return 0
}

func newNode(root *fs.LoopbackRoot, _ *fs.Inode, _ string, _ *syscall.Stat_t) fs.InodeEmbedder {
	return &node{fs.LoopbackNode{RootData: root}}
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: faultfs BACKING_DIR MOUNTPOINT TRIGGER_FILE")
		os.Exit(2)
	}
	backing, mountpoint := os.Args[1], os.Args[2]
	trigger = os.Args[3]
	var st syscall.Stat_t
	if err := syscall.Stat(backing, &st); err != nil {
		fmt.Fprintln(os.Stderr, "faultfs:", err)
		os.Exit(1)
	}
	root := &fs.LoopbackRoot{Path: backing, Dev: uint64(st.Dev), NewNode: newNode}
	root.RootNode = newNode(root, nil, "", &st)
	server, err := fs.Mount(mountpoint, root.RootNode, &fs.Options{MountOptions: fuse.MountOptions{FsName: "faultfs", DirectMount: true}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "faultfs: mount:", err)
		os.Exit(1)
	}
	fmt.Println("mounted")
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		_ = server.Unmount()
	}()
	server.Wait()
}
