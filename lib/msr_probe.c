// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <unistd.h>

#include "msr_probe.h"

int msr_ioctl_one(int fd, unsigned long cmd, uint32_t index, uint64_t *data)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entry;
	} buf = { .hdr.nmsrs = 1, .entry = { .index = index, .data = *data } };
	int r = ioctl(fd, cmd, &buf);

	*data = buf.entry.data;
	return r;
}

static bool list_has(const struct kvm_msr_list *list, uint32_t index)
{
	uint32_t i;

	for (i = 0; list && i < list->nmsrs; i++)
		if (list->indices[i] == index)
			return true;
	return false;
}

void msr_probe_catalog(struct msr_catalog *c, struct kvm_vcpu *vcpu)
{
	bool features = kvm_has_cap(KVM_CAP_GET_MSR_FEATURES);
	const struct kvm_msr_list *index_list = kvm_get_msr_index_list();
	const struct kvm_msr_list *feature_list = features ? kvm_get_feature_msr_index_list() : NULL;
	int kvm_fd = open_kvm_dev_path_or_exit();
	unsigned int i;

	for (i = 0; i < MSR_CATALOG_SIZE; i++) {
		struct msr_catalog_entry *e = &c->entries[i];
		struct msr_probe *p = &e->probe;
		uint64_t data = 0;

		p->in_index_list = list_has(index_list, e->index);
		p->in_feature_list = list_has(feature_list, e->index);
		p->host_readable = msr_ioctl_one(vcpu->fd, KVM_GET_MSRS, e->index, &data) == 1;
		p->host_value = p->host_readable ? data : 0;
		p->host_writable = p->host_readable &&
				   msr_ioctl_one(vcpu->fd, KVM_SET_MSRS, e->index, &data) == 1;
		data = 0;
		p->system_readable = features &&
				     msr_ioctl_one(kvm_fd, KVM_GET_MSRS, e->index, &data) == 1;
		p->system_value = p->system_readable ? data : 0;
		p->probed = true;
	}
	close(kvm_fd);
}
