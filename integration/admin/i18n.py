"""English and Turkish texts of the admin pages, and money in the account's currency.

A small catalogue rather than gettext files: the admin has a few dozen strings and this keeps
them reviewable side by side. ``t("key")`` in templates; a missing Turkish text falls back to
English so a new string never breaks a page.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from babel.numbers import format_currency, format_decimal
from flask import g, request, session

LOCALES = ("en", "tr")

TEXTS: dict[str, dict[str, str]] = {
    "sign_in": {"en": "Sign in", "tr": "Giriş yap"},
    "sign_out": {"en": "Sign out", "tr": "Çıkış"},
    "email": {"en": "E-mail", "tr": "E-posta"},
    "password": {"en": "Password", "tr": "Parola"},
    "bad_login": {"en": "Wrong e-mail or password.", "tr": "E-posta veya parola hatalı."},
    "dashboard": {"en": "Dashboard", "tr": "Pano"},
    "customers": {"en": "Customers", "tr": "Müşteriler"},
    "settings": {"en": "Program", "tr": "Program"},
    "segments": {"en": "Segments", "tr": "Segmentler"},
    "connections": {"en": "Connections", "tr": "Bağlantılar"},
    "jobs": {"en": "Jobs", "tr": "İşler"},
    "inbox": {"en": "Inbox", "tr": "Gelen kutusu"},
    "members": {"en": "Members", "tr": "Üyeler"},
    "points_issued": {"en": "Points issued", "tr": "Verilen puan"},
    "points_redeemed": {"en": "Points redeemed", "tr": "Harcanan puan"},
    "points_expired": {"en": "Points expired", "tr": "Süresi dolan puan"},
    "redemption_rate": {"en": "Redemption rate", "tr": "Kullanım oranı"},
    "repeat_rate": {"en": "Repeat purchase rate", "tr": "Tekrar satın alma oranı"},
    "aov_members": {"en": "AOV members", "tr": "Ortalama sepet (üye)"},
    "aov_others": {"en": "AOV others", "tr": "Ortalama sepet (diğer)"},
    "tier_distribution": {"en": "Tier distribution", "tr": "Seviye dağılımı"},
    "points_by_month": {"en": "Points by month", "tr": "Aylara göre puan"},
    "predicted_clv": {"en": "Predicted CLV (avg)", "tr": "Tahmini yaşam boyu değer (ort.)"},
    "search": {"en": "Search", "tr": "Ara"},
    "search_hint": {"en": "e-mail or name", "tr": "e-posta veya ad"},
    "balance": {"en": "Balance", "tr": "Bakiye"},
    "pending": {"en": "Pending", "tr": "Bekleyen"},
    "tier": {"en": "Tier", "tr": "Seviye"},
    "ledger": {"en": "Ledger", "tr": "Puan hareketleri"},
    "adjust": {"en": "Adjust points", "tr": "Puan düzelt"},
    "amount": {"en": "Points (+/−)", "tr": "Puan (+/−)"},
    "reason": {"en": "Reason", "tr": "Neden"},
    "save": {"en": "Save", "tr": "Kaydet"},
    "saved": {"en": "Saved.", "tr": "Kaydedildi."},
    "redemptions": {"en": "Redemptions", "tr": "Ödül kullanımları"},
    "code": {"en": "Code", "tr": "Kod"},
    "status": {"en": "Status", "tr": "Durum"},
    "earn_rate": {"en": "Points per currency unit", "tr": "Para birimi başına puan"},
    "rounding": {"en": "Rounding", "tr": "Yuvarlama"},
    "award_on": {"en": "Award points when the order is", "tr": "Puanlar sipariş şu durumdayken verilir"},
    "return_window": {"en": "Return window (days)", "tr": "İade süresi (gün)"},
    "expiry": {"en": "Expiry", "tr": "Puan süresi"},
    "expiry_months": {"en": "Expiry months", "tr": "Süre (ay)"},
    "bonuses": {"en": "Bonuses", "tr": "Bonuslar"},
    "tiers": {"en": "Tiers", "tr": "Seviyeler"},
    "rewards": {"en": "Rewards", "tr": "Ödüller"},
    "last_sync": {"en": "Last sync", "tr": "Son eşitleme"},
    "last_push": {"en": "Last push", "tr": "Son gönderim"},
    "never": {"en": "never", "tr": "hiç"},
    "none": {"en": "none", "tr": "yok"},
    "when": {"en": "When", "tr": "Zaman"},
    "kind": {"en": "Kind", "tr": "Tür"},
    "actor": {"en": "By", "tr": "Yapan"},
    "language": {"en": "Türkçe", "tr": "English"},
    "insufficient": {"en": "Not enough points.", "tr": "Yeterli puan yok."},
    "new_segment": {"en": "Define a segment", "tr": "Segment tanımla"},
    "preview": {"en": "Preview", "tr": "Önizle"},
    "would_match": {"en": "Customers matching now", "tr": "Şu an eşleşen müşteri"},
    "run_now": {"en": "Run now", "tr": "Şimdi çalıştır"},
    "replay": {"en": "Replay", "tr": "Yeniden işle"},
    "replayed": {"en": "deliveries queued again", "tr": "teslimat yeniden sıraya alındı"},
    "inbox_clean": {"en": "No failed or dead deliveries.", "tr": "Başarısız teslimat yok."},
    "status_active": {"en": "Active", "tr": "Etkin"},
    "status_needs_attention": {"en": "Needs attention", "tr": "İlgilenilmesi gerekiyor"},
    "status_disabled": {"en": "Disabled", "tr": "Devre dışı"},
    "sync_lag": {"en": "Since the last successful sync", "tr": "Son başarılı eşitlemeden beri"},
    "inbox_lag": {"en": "Oldest unprocessed webhook", "tr": "İşlenmeyi bekleyen en eski webhook"},
    "waiting": {"en": "waiting", "tr": "bekliyor"},
    "api_recent": {"en": "API, last 24 hours", "tr": "API, son 24 saat"},
    "calls": {"en": "calls", "tr": "çağrı"},
    "throttled": {"en": "throttled", "tr": "hız sınırına takıldı"},
    "failed_runs": {"en": "failed runs", "tr": "başarısız çalışma"},
    "register_webhooks": {"en": "Register webhooks again", "tr": "Webhook'ları yeniden kaydet"},
    "webhooks_registered": {"en": "webhooks registered", "tr": "webhook'lar kaydedildi"},
    "webhooks_failed": {"en": "registering webhooks failed", "tr": "webhook kaydı başarısız"},
    "session_ended": {"en": "Your session has ended.",
                      "tr": "Oturumunuz sona erdi."},
    "reopen_from_shopify": {"en": "Open Sadakat again from your Shopify admin",
                            "tr": "Sadakat'ı Shopify yönetim panelinizden yeniden açın"},
    "not_authorized": {"en": "the store did not grant access; nothing was connected",
                       "tr": "mağaza erişim izni vermedi; hiçbir şey bağlanmadı"},
    "webhooks_by_hand": {"en": "this platform has no API for webhooks; point them at",
                         "tr": "bu platformun webhook API'si yok; webhook'ları şu adrese yönlendirin"},
    "reconnect": {"en": "Reconnect", "tr": "Yeniden bağlan"},
    "reconnect_hint": {"en": "Paste the new keys; a field left empty keeps the stored one. "
                               "The platform checks them before they are saved.",
                       "tr": "Yeni anahtarları yapıştırın; boş bırakılan alan kayıtlı olanı korur. "
                             "Kaydetmeden önce platform anahtarları doğrular."},
    "reconnected": {"en": "new credentials saved", "tr": "yeni kimlik bilgileri kaydedildi"},
    "refused": {"en": "the platform refused them", "tr": "platform bunları reddetti"},
    "not_installed": {"en": "this connector is not installed", "tr": "bu bağlayıcı kurulu değil"},
    "no_connections": {"en": "No connections yet.", "tr": "Henüz bağlantı yok."},
    "add_connection": {"en": "Add a connection", "tr": "Bağlantı ekle"},
    "add_by_settings": {"en": "Connected with an API key and its settings:",
                        "tr": "API anahtarı ve ayarlarıyla bağlananlar:"},
    "connect": {"en": "Connect", "tr": "Bağlan"},
    "connect_hint": {"en": "The platform checks these settings before they are saved; secrets are "
                           "stored encrypted. A field left empty takes its default.",
                     "tr": "Kaydetmeden önce platform bu ayarları doğrular; gizli bilgiler şifreli "
                           "saklanır. Boş bırakılan alan varsayılan değerini alır."},
    "connected": {"en": "connected", "tr": "bağlandı"},
    "connected_elsewhere": {"en": "This is already connected to another loyalty program.",
                            "tr": "Bu zaten başka bir sadakat programına bağlı."},
    "shopify_shop": {"en": "Shop domain", "tr": "Mağaza alan adı"},
    "shopify_install": {"en": "Install the app on the shop", "tr": "Uygulamayı mağazaya yükle"},
    "shopify_not_configured": {
        "en": "The Shopify app is not configured ([shopify] api_key and api_secret); connect a "
              "custom app with `sadakat shopify connect`.",
        "tr": "Shopify uygulaması yapılandırılmamış ([shopify] api_key ve api_secret); özel "
              "uygulamayı `sadakat shopify connect` ile bağlayın."},
    "woocommerce_site": {"en": "Site address", "tr": "Site adresi"},
    "woocommerce_authorize": {"en": "Authorize on the site", "tr": "Sitede yetkilendir"},
    "allow_insecure_http": {"en": "Accept an http:// site (keys travel unencrypted)",
                            "tr": "http:// siteyi kabul et (anahtarlar şifresiz iletilir)"},
    # contacts a connection refuses (integration.refusals): one block, per RefusalReason
    "partial_runs": {"en": "partial runs", "tr": "eksik kalan çalışma"},
    "refused_contacts": {"en": "refused contacts", "tr": "reddedilen kişi"},
    "refused_see": {"en": "who, and what you can do", "tr": "kimler ve ne yapabilirsiniz"},
    "refused_title": {"en": "Contacts the email tool refuses", "tr": "E-posta aracının reddettiği kişiler"},
    "refused_intro": {"en": "The platform refuses these contacts for good, so Sadakat does not send them "
                            "again (no traffic, no noise in the job runs) until something changes its "
                            "answer: a new address, or the shopper subscribing again.",
                      "tr": "Platform bu kişileri kalıcı olarak reddediyor; Sadakat cevabı değiştirecek bir "
                            "şey olana kadar (yeni bir adres ya da alışverişçinin yeniden abone olması) "
                            "onları tekrar göndermez."},
    "refused_none": {"en": "No contact is refused.", "tr": "Reddedilen kişi yok."},
    "refused_since": {"en": "Refused on", "tr": "Reddedildiği gün"},
    "refused_address": {"en": "Address refused", "tr": "Reddedilen adres"},
    "refused_detail": {"en": "The platform said", "tr": "Platformun cevabı"},
    "refused_retry": {"en": "changed since: sent again at the next push",
                      "tr": "o zamandan beri değişti: bir sonraki gönderimde yeniden gönderilecek"},
    "refused_more": {"en": "more not shown", "tr": "tanesi daha gösterilmiyor"},
    "refusal_what_to_do": {"en": "What you can do", "tr": "Ne yapabilirsiniz"},
    "refusal_no_address": {"en": "No e-mail address", "tr": "E-posta adresi yok"},
    "refusal_no_address_means": {
        "en": "The store has no e-mail address for these customers, so the email tool cannot find them.",
        "tr": "Mağazada bu müşterilerin e-posta adresi yok; e-posta aracı onları bulamıyor."},
    "refusal_no_address_do": {
        "en": "Add their address in the store; Sadakat sends them at the next push after it arrives.",
        "tr": "Adreslerini mağazada ekleyin; Sadakat adres geldikten sonraki ilk gönderimde onları gönderir."},
    "refusal_invalid_address": {"en": "Address refused as fake or invalid",
                                "tr": "Sahte ya da geçersiz sayılan adres"},
    "refusal_invalid_address_means": {
        "en": "The email tool calls the address fake or invalid (a typo, a throw-away mail domain) and will not add it.",
        "tr": "E-posta aracı adresi sahte ya da geçersiz sayıyor (yazım hatası, geçici e-posta alanı) ve eklemiyor."},
    "refusal_invalid_address_do": {
        "en": "Correct the address in the store; Sadakat sends the contact again as soon as it changes.",
        "tr": "Adresi mağazada düzeltin; Sadakat adres değişir değişmez kişiyi yeniden gönderir."},
    "refusal_forgotten": {"en": "Permanently deleted in the email tool",
                          "tr": "E-posta aracında kalıcı olarak silinmiş"},
    "refusal_forgotten_means": {
        "en": "Someone deleted this contact permanently in the email tool. It keeps the address only to refuse it: no app may add it back.",
        "tr": "Bu kişi e-posta aracında kalıcı olarak silinmiş. Araç adresi yalnızca reddetmek için tutuyor: hiçbir uygulama onu geri ekleyemez."},
    "refusal_forgotten_do": {
        "en": "Only the shopper can come back: they sign up again through the email tool's own signup form. Sadakat sends them again when they do, when they subscribe again through the store, or when their address changes.",
        "tr": "Yalnızca alışverişçi geri dönebilir: e-posta aracının kendi kayıt formundan yeniden kaydolur. Sadakat bunu yaptığında, mağazadan yeniden abone olduğunda ya da adresi değiştiğinde onu yeniden gönderir."},
    "refusal_compliance": {"en": "Held in compliance state", "tr": "Uyum (compliance) durumunda tutuluyor"},
    "refusal_compliance_means": {
        "en": "The email tool holds the address in compliance state (it unsubscribed or bounced and was then removed, or it is under compliance review) and will not add it.",
        "tr": "E-posta aracı adresi uyum durumunda tutuyor (abonelikten çıkmış ya da geri dönmüş ve sonra kaldırılmış, veya inceleme altında) ve eklemiyor."},
    "refusal_compliance_do": {
        "en": "The shopper has to sign up again through the email tool's own signup form; Sadakat sends them again when they subscribe again or their address changes.",
        "tr": "Alışverişçinin e-posta aracının kendi kayıt formundan yeniden kaydolması gerekir; Sadakat yeniden abone olduğunda ya da adresi değiştiğinde onu yeniden gönderir."},
}

UNITS = {"en": ("s", "min", "h", "d"), "tr": ("sn", "dk", "sa", "gün")}


def locale() -> str:
    chosen = request.args.get("lang") or session.get("lang")
    if chosen in LOCALES:
        session["lang"] = chosen
        return chosen
    user = getattr(g, "admin", None)
    return user.locale if user is not None and user.locale in LOCALES else "en"


def t(key: str) -> str:
    texts = TEXTS.get(key)
    if texts is None:
        return key
    return texts.get(locale(), texts["en"])


def money(amount: Decimal | float | int | None, currency: str) -> str:
    value = Decimal(str(amount or 0))
    return format_currency(value, currency, locale="tr_TR" if locale() == "tr" else "en_US")


def number(value: float | int | Decimal | None) -> str:
    if value is None:
        return "–"
    return format_decimal(value, locale="tr_TR" if locale() == "tr" else "en_US")


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def duration(value: timedelta | None) -> str:
    """A lag as one rounded unit ("4 min", "2 h"): the page answers "how far behind", not more."""
    if value is None:
        return "–"
    seconds, units = max(0, int(value.total_seconds())), UNITS[locale()]
    for size, unit in ((86400, units[3]), (3600, units[2]), (60, units[1])):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} {units[0]}"
