"""The seven losses as PyTorch users write them (lightly's, SupContrast's and open_clip's
formulations), per docs/FORMULAS.md.

Every function takes the two raw views z1, z2 (N x D) and returns the reported loss value
(a 0-d tensor whose backward gives the package's gradients). `bank` (K x D, raw) switches to the
queue form (the first five losses): anchors are z1's rows, candidates the bank rows, the bank
gets no gradient. supcon also takes N integer labels (the bench's: bench_labels).

Sources: lightly.loss.NTXentLoss (in-batch and memory bank), lightly.loss.DCLLoss / DCLWLoss
(>= 1.5.21: one log-sum-exp over all 2N-2 negatives), FlatCLR's flatclr.py, SimCo's
dual_temperature_loss_func, SupContrast's SupConLoss (contrast_mode 'all'), open_clip's SigLipLoss.
Defaults as docs/FORMULAS.md: tau 0.5 for ntxent, 0.07 for supcon (tau_base 0.07), 0.1 otherwise;
sigma 0.5; m 10; siglip bias -10.
"""
import torch
import torch.nn.functional as F

LOSSES = ("ntxent", "dcl", "dclw", "flatnce", "dualtemp", "supcon", "siglip")
BANK_LOSSES = ("ntxent", "dcl", "dclw", "flatnce", "dualtemp")
DEFAULT_TEMPERATURE = {"ntxent": 0.5, "dcl": 0.1, "dclw": 0.1, "flatnce": 0.1, "dualtemp": 0.1, "supcon": 0.07, "siglip": 0.1}
SIGMA = 0.5
DT_M = 10.0
SUPCON_BASE_TEMPERATURE = 0.07
SIGLIP_BIAS = -10.0
SUPCON_SAMPLES_PER_CLASS = 8


def bench_labels(n):
    """SupCon's labels in the bench, as bench/loss-options.ts benchLabels: i mod C, C = max(2, N // 8)."""
    return torch.arange(n) % max(2, n // SUPCON_SAMPLES_PER_CLASS)


def normalize(z):
    # F.normalize divides by max(||z||, 1e-12): docs/FORMULAS.md's floor.
    return F.normalize(z, dim=1, eps=1e-12)


def dclw_weights(u1, u2, sigma=SIGMA):
    """lightly's negative_mises_fisher_weights: w = 2 - N softmax(u1.u2 / sigma), detached."""
    r = torch.einsum("nc,nc->n", u1.detach(), u2.detach()) / sigma
    return 2 - u1.shape[0] * F.softmax(r, dim=0)


def ntxent(z1, z2, tau):
    """lightly NTXentLoss(memory_bank_size=0): cross-entropy over [other view, same view without self]."""
    u1, u2 = normalize(z1), normalize(z2)
    n = u1.shape[0]
    diag = torch.eye(n, dtype=torch.bool, device=u1.device)
    l00 = (u1 @ u1.T / tau)[~diag].view(n, -1)
    l11 = (u2 @ u2.T / tau)[~diag].view(n, -1)
    l01 = u1 @ u2.T / tau
    l10 = u2 @ u1.T / tau
    logits = torch.cat([torch.cat([l01, l00], 1), torch.cat([l10, l11], 1)], 0)
    labels = torch.arange(n, device=u1.device).repeat(2)
    return F.cross_entropy(logits, labels)


def _decoupled_one_way(a, b, tau, weights):
    """lightly DCLLoss._loss: -s+ (times w for DCLW) + one LSE over the 2N-2 negatives of each anchor in a."""
    n = a.shape[0]
    diag = torch.eye(n, dtype=torch.bool, device=a.device)
    s00 = a @ a.T / tau
    s01 = a @ b.T / tau
    positive = -s01[diag]
    if weights is not None:
        positive = positive * weights
    negatives = torch.cat([s00[~diag].view(n, -1), s01[~diag].view(n, -1)], 1)
    return (positive + torch.logsumexp(negatives, dim=1)).mean()


def dcl(z1, z2, tau, weighted=False):
    """lightly DCLLoss / DCLWLoss: the mean of both directions (= the mean over 2N anchors)."""
    u1, u2 = normalize(z1), normalize(z2)
    w = dclw_weights(u1, u2) if weighted else None
    return 0.5 * (_decoupled_one_way(u1, u2, tau, w) + _decoupled_one_way(u2, u1, tau, w))


def flatnce(z1, z2, tau):
    """FlatCLR: trains on mean(exp(v - v.detach())) - 1 with v = lse_neg - s+ (the DCL gradient) and
    logs the cross-entropy (the NT-Xent value). Returned: value + (train - train.detach()), so
    the value is the NT-Xent one and backward() gives FlatCLR's gradient."""
    u1, u2 = normalize(z1), normalize(z2)
    u = torch.cat([u1, u2], 0)
    n2 = u.shape[0]
    n = n2 // 2
    s = u @ u.T / tau
    idx = torch.arange(n2, device=u.device)
    pos_idx = (idx + n) % n2
    pos = s[idx, pos_idx]
    neg_mask = torch.ones_like(s, dtype=torch.bool)
    neg_mask[idx, idx] = False
    neg_mask[idx, pos_idx] = False
    negatives = s[neg_mask].view(n2, -1)
    v = torch.logsumexp(negatives - pos.unsqueeze(1), dim=1)
    train = torch.exp(v - v.detach()).mean() - 1
    value = F.softplus(v).mean().detach()
    return value + (train - train.detach())


def _dual_temperature_one_way(q, k, tau, m):
    """SimCo dual_temperature_loss_func (query q, key k, cross-view candidates, positive in the
    denominator); 1 - P_pos as exp(lse_neg - lse_all), docs/FORMULAS.md's form of the same quantity."""
    n = q.shape[0]
    pos = torch.einsum("nc,nc->n", q, k).unsqueeze(-1)
    neg = q @ k.T
    mask = ~torch.eye(n, dtype=torch.bool, device=q.device)
    neg = neg[mask].view(n, n - 1)
    return _dual_temperature_logits(torch.cat([pos, neg], 1), tau, m)


def _dual_temperature_logits(logits, tau, m):
    """Per-anchor SimCo loss for logits [positive, negatives...] (no temperature yet): mean over anchors."""
    intra, inter = logits / tau, logits / (tau * m)
    one_minus_p = torch.exp(torch.logsumexp(intra[:, 1:], 1) - torch.logsumexp(intra, 1))
    one_minus_q = torch.exp(torch.logsumexp(inter[:, 1:], 1) - torch.logsumexp(inter, 1))
    factor = (one_minus_q / one_minus_p).detach()
    return (factor * -F.log_softmax(intra, dim=1)[:, 0]).mean()


def dualtemp(z1, z2, tau, m=DT_M):
    u1, u2 = normalize(z1), normalize(z2)
    return 0.5 * (_dual_temperature_one_way(u1, u2, tau, m) + _dual_temperature_one_way(u2, u1, tau, m))


def supcon(z1, z2, labels, tau, base_tau=SUPCON_BASE_TEMPERATURE):
    """SupContrast SupConLoss(contrast_mode='all') on features [N, 2 views, D] (the normalized views):
    every one of the 2N rows an anchor, its positives the other rows of its label, the denominator
    every other row; mean over anchors of -(tau / base_tau) * mean log-probability of the positives."""
    u1, u2 = normalize(z1), normalize(z2)
    n = u1.shape[0]
    labels = labels.to(u1.device).contiguous().view(-1, 1)
    mask = torch.eq(labels, labels.T).to(u1.dtype)
    contrast = torch.cat([u1, u2], 0)  # torch.cat(torch.unbind(features, dim=1), dim=0)
    anchor_dot_contrast = contrast @ contrast.T / tau
    logits_max, _ = torch.max(anchor_dot_contrast, dim=1, keepdim=True)
    logits = anchor_dot_contrast - logits_max.detach()
    mask = mask.repeat(2, 2)
    logits_mask = torch.scatter(torch.ones_like(mask), 1, torch.arange(2 * n, device=u1.device).view(-1, 1), 0)
    mask = mask * logits_mask
    exp_logits = torch.exp(logits) * logits_mask
    log_prob = logits - torch.log(exp_logits.sum(1, keepdim=True))
    mask_pos_pairs = mask.sum(1)
    mask_pos_pairs = torch.where(mask_pos_pairs < 1e-6, torch.ones_like(mask_pos_pairs), mask_pos_pairs)
    mean_log_prob_pos = (mask * log_prob).sum(1) / mask_pos_pairs
    return (-(tau / base_tau) * mean_log_prob_pos).view(2, n).mean()


def siglip(z1, z2, tau, bias=SIGLIP_BIAS):
    """open_clip SigLipLoss (one device): logits = logit_scale * u1 @ u2.T + bias with
    logit_scale = 1 / tau, labels 2 * eye - 1, -logsigmoid(labels * logits).sum() / N."""
    u1, u2 = normalize(z1), normalize(z2)
    n = u1.shape[0]
    logits = (1.0 / tau) * u1 @ u2.T + bias
    labels = 2 * torch.eye(n, dtype=u1.dtype, device=u1.device) - torch.ones(n, n, dtype=u1.dtype, device=u1.device)
    return -F.logsigmoid(labels * logits).sum() / n


def bank_form(name, z1, z2, bank, tau):
    """Queue negatives (docs/FORMULAS.md "Queue negatives"; lightly NTXentLoss(memory_bank_size > 0) for
    ntxent): anchors u1_i, positive u2_i, candidates the K normalized bank rows, mean over N."""
    u1, u2 = normalize(z1), normalize(z2)
    b = normalize(bank).detach()
    pos = torch.einsum("nc,nc->n", u1, u2).unsqueeze(-1)
    sim_neg = u1 @ b.T
    if name == "dualtemp":
        return _dual_temperature_logits(torch.cat([pos, sim_neg], 1), tau, DT_M)
    logits = torch.cat([pos, sim_neg], 1) / tau
    if name == "ntxent":
        return F.cross_entropy(logits, torch.zeros(u1.shape[0], dtype=torch.long, device=u1.device))
    v = torch.logsumexp(logits[:, 1:], 1) - logits[:, 0]
    if name == "dcl":
        return v.mean()
    if name == "dclw":
        return (torch.logsumexp(logits[:, 1:], 1) - dclw_weights(u1, u2) * logits[:, 0]).mean()
    if name == "flatnce":
        train = torch.exp(v - v.detach()).mean() - 1
        return F.softplus(v).mean().detach() + (train - train.detach())
    raise ValueError(f"unknown loss {name}")


def loss_fn(name, tau=None, bank=None, labels=None):
    """The callable (z1, z2) -> loss for `name` with docs/FORMULAS.md's defaults, in-batch or against
    `bank`; supcon takes `labels` (N integers; bench_labels(N) when None)."""
    t = DEFAULT_TEMPERATURE[name] if tau is None else tau
    if bank is not None and name not in BANK_LOSSES:
        raise ValueError(f"{name} has no bank form")
    if bank is not None:
        return lambda z1, z2: bank_form(name, z1, z2, bank, t)
    if name == "ntxent":
        return lambda z1, z2: ntxent(z1, z2, t)
    if name in ("dcl", "dclw"):
        weighted = name == "dclw"
        return lambda z1, z2: dcl(z1, z2, t, weighted)
    if name == "flatnce":
        return lambda z1, z2: flatnce(z1, z2, t)
    if name == "dualtemp":
        return lambda z1, z2: dualtemp(z1, z2, t)
    if name == "supcon":
        return lambda z1, z2: supcon(z1, z2, bench_labels(z1.shape[0]) if labels is None else labels, t)
    if name == "siglip":
        return lambda z1, z2: siglip(z1, z2, t)
    raise ValueError(f"unknown loss {name}")
