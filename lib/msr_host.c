// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "msr_divergence.h"
#include "msr_host.h"
#include "msr_probe.h"

#define HOST_MSR_APIC_BASE	0x0000001bu
#define HOST_APIC_BASE_EXTD	(1ull << 10)
#define HOST_CR0_PG		(1ull << 31)

/* The vendor of a KVM backend's own SVM/VMX; -1: none (the host CPU's vendor). */
static const struct {
	const char *module;
	int vendor;
} backends[] = {
	{ "kvm_intel", MSR_VENDOR_INTEL },
	{ "kvm_amd", MSR_VENDOR_AMD },
	{ "kvm_pvm", -1 },
};

/* /proc/cpuinfo value of the first "key" line, "" if none. */
static void cpuinfo_value(const char *key, char *out, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	size_t klen = strlen(key);
	char line[8192];

	out[0] = 0;
	while (f && fgets(line, sizeof(line), f)) {
		const char *v = strchr(line, ':');

		if (strncmp(line, key, klen) || !v)
			continue;
		for (v++; *v == ' ' || *v == '\t'; v++)
			;
		snprintf(out, len, "%s", v);
		out[strcspn(out, "\n")] = 0;
		break;
	}
	if (f)
		fclose(f);
}

void msr_host_info_get(struct msr_host_info *h)
{
	unsigned int i;

	memset(h, 0, sizeof(*h));
	cpuinfo_value("vendor_id", h->cpu_vendor, sizeof(h->cpu_vendor));
	h->known_vendor = !strcmp(h->cpu_vendor, "GenuineIntel") ||
			  !strcmp(h->cpu_vendor, "AuthenticAMD") ||
			  !strcmp(h->cpu_vendor, "HygonGenuine");
	h->vendor = strcmp(h->cpu_vendor, "GenuineIntel") ? MSR_VENDOR_AMD : MSR_VENDOR_INTEL;
	h->vendor_source = "host CPU";
	snprintf(h->backend, sizeof(h->backend), "%s", msr_backend_name());

	for (i = 0; i < ARRAY_SIZE(backends); i++) {
		if (strcmp(h->backend, backends[i].module) || backends[i].vendor < 0)
			continue;
		h->vendor = backends[i].vendor;
		h->vendor_source = "KVM vendor module";
	}
}

/* A CPUID feature bit: leaf, subleaf, register (0 EAX .. 3 EDX), bit. */
struct cpuid_bit {
	__u32 feature;		/* MSR_FEAT_* */
	__u32 function, index;
	__u8 reg, bit;
	const char *flag;	/* /proc/cpuinfo name of the same feature */
};

enum { R_EAX, R_EBX, R_ECX, R_EDX };

static const struct cpuid_bit feature_bits[] = {
	{ MSR_FEAT_LM,        0x80000001, 0, R_EDX, 29, "lm" },
	{ MSR_FEAT_NX,        0x80000001, 0, R_EDX, 20, "nx" },
	{ MSR_FEAT_SVM,       0x80000001, 0, R_ECX, 2,  "svm" },
	{ MSR_FEAT_FFXSR,     0x80000001, 0, R_EDX, 25, "fxsr_opt" },
	{ MSR_FEAT_AUTOIBRS,  0x80000021, 0, R_EAX, 8,  "auto_ibrs" },
	{ MSR_FEAT_RDTSCP,    0x80000001, 0, R_EDX, 27, "rdtscp" },
	{ MSR_FEAT_RDPID,     0x00000007, 0, R_ECX, 22, "rdpid" },
	{ MSR_FEAT_ARCH_CAPS, 0x00000007, 0, R_EDX, 29, "arch_capabilities" },
	{ MSR_FEAT_IBPB,      0x00000007, 0, R_EDX, 26, "ibpb" },	/* SPEC_CTRL */
	{ MSR_FEAT_IBPB,      0x80000008, 0, R_EBX, 12, NULL },		/* AMD_IBPB */
	{ MSR_FEAT_SBPB,      0x80000021, 0, R_EAX, 27, NULL },	/* no cpuinfo name */
	{ MSR_FEAT_FLUSH_L1D, 0x00000007, 0, R_EDX, 28, "flush_l1d" },
};

static const struct kvm_cpuid_entry2 *cpuid_entry(const struct kvm_cpuid2 *c,
						   __u32 function, __u32 index)
{
	__u32 i;

	for (i = 0; c && i < c->nent; i++) {
		if (c->entries[i].function == function && c->entries[i].index == index)
			return &c->entries[i];
	}
	return NULL;
}

static bool cpuid_has(const struct kvm_cpuid2 *c, const struct cpuid_bit *b)
{
	const struct kvm_cpuid_entry2 *e = cpuid_entry(c, b->function, b->index);
	const __u32 regs[] = { e ? e->eax : 0, e ? e->ebx : 0, e ? e->ecx : 0, e ? e->edx : 0 };

	return (regs[b->reg] >> b->bit) & 1;
}

/* Every bit of @f's CPUID entry that has it, set or cleared in @c. */
static void cpuid_put(struct kvm_cpuid2 *c, const struct cpuid_bit *b, bool on)
{
	struct kvm_cpuid_entry2 *e = (struct kvm_cpuid_entry2 *)cpuid_entry(c, b->function, b->index);
	__u32 *regs[] = { e ? &e->eax : NULL, e ? &e->ebx : NULL, e ? &e->ecx : NULL,
			  e ? &e->edx : NULL };

	if (!e)
		return;
	if (on)
		*regs[b->reg] |= 1u << b->bit;
	else
		*regs[b->reg] &= ~(1u << b->bit);
}

const char *msr_cpuid_state_name(enum msr_cpuid_state st)
{
	return st == MSR_CPUID_PRESENT ? "present" : "absent";
}

static __u32 cpuid_features(const struct kvm_cpuid2 *c)
{
	__u32 f = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(feature_bits); i++) {
		if (cpuid_has(c, &feature_bits[i]))
			f |= feature_bits[i].feature;
	}
	return f;
}

/* What the last msr_guest_cpuid_set() of each state could not do. */
static struct {
	__u32 unsupported;	/* not in KVM_GET_SUPPORTED_CPUID */
	__u32 dropped;		/* set, but KVM_GET_CPUID2 says otherwise */
} cpuid_cover[MSR_CPUID_STATES];

/*
 * Present: each bit of a toggled feature that KVM_GET_SUPPORTED_CPUID has
 * is set (IBPB: SPEC_CTRL and AMD_IBPB, as supported).  The library's
 * vcpu_set_cpuid() reads the CPUID back (KVM_GET_CPUID2), so vcpu->cpuid,
 * which the model reads, is what KVM holds.
 */
void msr_guest_cpuid_set(struct kvm_vcpu *vcpu, enum msr_cpuid_state st)
{
	const struct kvm_cpuid2 *sup = kvm_get_supported_cpuid();
	__u32 want = st == MSR_CPUID_PRESENT ? MSR_CPUID_TOGGLED & cpuid_features(sup) : 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(feature_bits); i++) {
		const struct cpuid_bit *b = &feature_bits[i];

		if (b->feature & MSR_CPUID_TOGGLED)
			cpuid_put(vcpu->cpuid, b, st == MSR_CPUID_PRESENT && cpuid_has(sup, b));
	}
	vcpu_set_cpuid(vcpu);
	cpuid_cover[st].unsupported = st == MSR_CPUID_PRESENT ?
				      MSR_CPUID_TOGGLED & ~cpuid_features(sup) : 0;
	cpuid_cover[st].dropped = (cpuid_features(vcpu->cpuid) ^ want) & MSR_CPUID_TOGGLED;
}

int msr_cpuid_state_describe(char *buf, size_t len, enum msr_cpuid_state st)
{
	char un[160], dr[160];

	msr_feature_names(un, sizeof(un), cpuid_cover[st].unsupported);
	msr_feature_names(dr, sizeof(dr), cpuid_cover[st].dropped);
	return snprintf(buf, len, "%s%s%s%s%s%s%s%s", msr_cpuid_state_name(st),
			un[0] || dr[0] ? " (not covered: " : "", un,
			un[0] ? ": not in KVM_GET_SUPPORTED_CPUID" : "", un[0] && dr[0] ? "; " : "",
			dr, dr[0] ? ": KVM_GET_CPUID2 after KVM_SET_CPUID2 says otherwise" : "",
			un[0] || dr[0] ? ")" : "");
}

/* " flag " in the flags line. */
static bool flags_have(const char *flags, const char *flag)
{
	size_t n = strlen(flag);
	const char *p;

	for (p = strstr(flags, flag); p; p = strstr(p + 1, flag)) {
		if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0))
			return true;
	}
	return false;
}

/* cpuid.h: Intel, Centaur and Zhaoxin count as Intel-compatible. */
static bool guest_vendor_intel_compatible(const struct kvm_cpuid2 *c)
{
	const struct kvm_cpuid_entry2 *e = cpuid_entry(c, 0, 0);
	char v[13] = "";

	if (e) {
		memcpy(v, &e->ebx, 4);
		memcpy(v + 4, &e->edx, 4);
		memcpy(v + 8, &e->ecx, 4);
	}
	return !strcmp(v, "GenuineIntel") || !strcmp(v, "CentaurHauls") ||
	       !strcmp(v, "  Shanghai  ");
}

static bool read_bool_param(const char *path)
{
	FILE *f = fopen(path, "r");
	int c = f ? fgetc(f) : EOF;

	if (f)
		fclose(f);
	return c == 'Y' || c == '1';
}

/*
 * /proc/cpuinfo flags; a feature the kernel gives no flag name (SBPB:
 * cpufeatures.h has no "sbpb") is the host's if KVM_GET_SUPPORTED_CPUID
 * has it, which KVM sets only when the host has it (cpuid.c
 * kvm_set_cpu_caps(): kvm_cpu_cap_check_and_set(X86_FEATURE_SBPB)).
 */
static __u32 host_features_of(const char *flags)
{
	__u32 f = 0, named = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(feature_bits); i++) {
		if (!feature_bits[i].flag)
			continue;
		named |= feature_bits[i].feature;
		if (flags_have(flags, feature_bits[i].flag))
			f |= feature_bits[i].feature;
	}
	return f | (cpuid_features(kvm_get_supported_cpuid()) & ~named);
}

__u32 msr_host_features(void)
{
	static char flags[8192];

	cpuinfo_value("flags", flags, sizeof(flags));
	return host_features_of(flags);
}

void msr_vcpu_model_from_host(struct msr_vcpu_model *m, const struct msr_host_info *h,
			      struct kvm_vcpu *vcpu)
{
	static char flags[8192];
	struct kvm_sregs sregs;
	uint64_t efer = 0, apic_base = 0;

	msr_vcpu_model_init(m, h->vendor);
	cpuinfo_value("flags", flags, sizeof(flags));
	m->guest_features = cpuid_features(vcpu->cpuid);
	m->host_features = host_features_of(flags);
	m->guest_intel_compatible = guest_vendor_intel_compatible(vcpu->cpuid);
	m->host_tsc_aux = flags_have(flags, "rdtscp") || flags_have(flags, "rdpid");
	m->va_bits = flags_have(flags, "la57") ? 57 : 48;

	TEST_ASSERT(msr_ioctl_one(vcpu->fd, KVM_GET_MSRS, MSR_CAT_EFER, &efer) == 1,
		    "KVM_GET_MSRS of MSR_EFER failed");
	m->efer = efer;
	vcpu_sregs_get(vcpu, &sregs);
	m->paging = sregs.cr0 & HOST_CR0_PG;
	m->x2apic_mode = msr_ioctl_one(vcpu->fd, KVM_GET_MSRS, HOST_MSR_APIC_BASE, &apic_base) == 1 &&
			 (apic_base & HOST_APIC_BASE_EXTD);
	/*
	 * IA32_FMASK bits 63:32 are reserved on Intel (the uret MSR write
	 * fails); the APM does not say that AMD CPUs fault on them, so no
	 * reserved bits are assumed there.
	 */
	m->sfmask_reserved = h->vendor == MSR_VENDOR_INTEL ? 0xffffffff00000000ull : 0;
	m->ignore_msrs = read_bool_param("/sys/module/kvm/parameters/ignore_msrs");
	m->kernel = msr_host_kernel();
}

int msr_vcpu_model_describe(char *buf, size_t len, const struct msr_vcpu_model *m,
			    const struct msr_host_info *h)
{
	return snprintf(buf, len,
			"backend %s, vendor %s from the %s (/proc/cpuinfo vendor_id %s)%s; guest CPUID features %#x, "
			"host features %#x, EFER %#llx, %s, va_bits %u, ignore_msrs %d; model rules of "
			"kernel %u.%u (running)",
			h->backend, h->vendor == MSR_VENDOR_INTEL ? "Intel" : "AMD",
			h->vendor_source, h->cpu_vendor,
			h->known_vendor ? "" : " (unknown vendor, AMD assumed)",
			m->guest_features, m->host_features, (unsigned long long)m->efer,
			m->x2apic_mode ? "x2APIC" : "xAPIC", m->va_bits, m->ignore_msrs,
			m->kernel >> 16, (m->kernel >> 8) & 0xff);
}

void msr_div_case_host(struct msr_div_case *c)
{
	struct msr_vcpu_model m;
	struct msr_host_info h;

	msr_host_info_get(&h);
	msr_vcpu_model_init(&m, h.vendor);
	m.host_features = msr_host_features();
	m.kernel = msr_host_kernel();
	msr_div_case_of(c, &m);
}

__u32 msr_host_kernel(void)
{
	unsigned int kmaj = 0, kmin = 0;
	struct utsname u;

	uname(&u);
	sscanf(u.release, "%u.%u", &kmaj, &kmin);
	return MSR_KERNEL(kmaj, kmin);
}

