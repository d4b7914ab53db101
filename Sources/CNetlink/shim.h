#ifndef UPLINKCTL_CNETLINK_SHIM_H
#define UPLINKCTL_CNETLINK_SHIM_H

#include <stdint.h>
#include <stddef.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/fib_rules.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/table.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/expr.h>
#include <libnftnl/set.h>
#include <libnftnl/object.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>

/* setns(2): glibc declares it only under _GNU_SOURCE, and defining that here would make
   this module's libc structs differ from the Glibc module's. */
#include <linux/sched.h>
extern int setns(int fd, int nstype);
static inline int uplinkctl_enter_network_namespace(int fd) { return setns(fd, CLONE_NEWNET); }

/* Function-like macros Swift cannot import, as functions. */

static inline size_t uplinkctl_socket_buffer_size(void) { return MNL_SOCKET_BUFFER_SIZE; }

static inline struct nlmsgerr *uplinkctl_nlmsg_error(const struct nlmsghdr *header) {
    return (struct nlmsgerr *)mnl_nlmsg_get_payload(header);
}

#endif
