//! The coded-field vocabulary of report intake, shipped with zhiliang (documented in
//! `docs/vocabulary.md`, served at `GET /api/vocabulary`). Codes are stable ASCII snake_case;
//! labels are for people (English and Chinese). Adding a code is backwards compatible; removing or
//! renaming one is not.

use serde_json::{Value, json};

/// One code with its labels.
pub struct Code {
    pub code: &'static str,
    pub en: &'static str,
    pub zh: &'static str,
}

const fn c(code: &'static str, en: &'static str, zh: &'static str) -> Code {
    Code { code, en, zh }
}

/// Hazard types (the EU Safety Gate risk types plus the mechanisms injury surveillance codes).
pub const HAZARDS: &[Code] = &[
    c("burns", "Burns and scalds", "烧伤烫伤"),
    c("chemical", "Chemical", "化学危害"),
    c("choking", "Choking", "窒息（气道异物）"),
    c("cuts", "Cuts", "割伤"),
    c("crushing", "Crushing, pinching, trapping", "挤压夹伤"),
    c("damage_to_hearing", "Damage to hearing", "听力损伤"),
    c("damage_to_sight", "Damage to sight", "视力损伤"),
    c("drowning", "Drowning", "溺水"),
    c("electric_shock", "Electric shock", "触电"),
    c("entrapment", "Entrapment", "卡陷"),
    c("explosion", "Explosion", "爆炸"),
    c("fall", "Fall", "跌倒坠落"),
    c("fire", "Fire", "火灾"),
    c("health_risk", "Health risk (other)", "其他健康危害"),
    c("injuries", "Mechanical injuries (other)", "其他机械伤害"),
    c("microbiological", "Microbiological", "微生物危害"),
    c("poisoning", "Poisoning (ingestion)", "中毒"),
    c("radiation", "Radiation", "辐射"),
    c("strangulation", "Strangulation", "勒颈"),
    c("suffocation", "Suffocation", "窒息（外部阻塞）"),
    c("other", "Other", "其他"),
];

/// Injury types (nature of injury).
pub const INJURY_TYPES: &[Code] = &[
    c("allergic_reaction", "Allergic reaction", "过敏反应"),
    c("amputation", "Amputation", "截肢"),
    c("asphyxia", "Asphyxia", "窒息"),
    c("burn", "Burn or scald", "烧烫伤"),
    c("concussion", "Concussion", "脑震荡"),
    c("contusion", "Contusion, bruise", "挫伤"),
    c("dislocation", "Dislocation", "脱位"),
    c("electric_injury", "Electric injury", "电击伤"),
    c("foreign_body", "Foreign body", "异物"),
    c("fracture", "Fracture", "骨折"),
    c("internal_injury", "Internal injury", "内脏损伤"),
    c("laceration", "Laceration, cut", "撕裂伤、切割伤"),
    c("poisoning", "Poisoning", "中毒"),
    c("sprain", "Sprain, strain", "扭伤、拉伤"),
    c("other", "Other", "其他"),
];

/// Body parts.
pub const BODY_PARTS: &[Code] = &[
    c("head", "Head", "头部"),
    c("face", "Face", "面部"),
    c("eye", "Eye", "眼"),
    c("ear", "Ear", "耳"),
    c("mouth_teeth", "Mouth and teeth", "口腔牙齿"),
    c("neck", "Neck", "颈部"),
    c("chest", "Chest", "胸部"),
    c("abdomen", "Abdomen", "腹部"),
    c("back", "Back and spine", "背部脊柱"),
    c("upper_limb", "Arm, shoulder", "上肢"),
    c("hand_finger", "Hand, finger", "手、手指"),
    c("lower_limb", "Leg, hip", "下肢"),
    c("foot_toe", "Foot, toe", "足、脚趾"),
    c("internal", "Internal organs", "内脏"),
    c("multiple", "Multiple parts", "多部位"),
    c("whole_body", "Whole body", "全身"),
    c("other", "Other", "其他"),
];

/// Severities, with the EU 2019/417 severity level (1-4) each stands for.
pub const SEVERITIES: &[(Code, u8)] = &[
    (c("minor", "Minor (level 1)", "轻微（1级）"), 1),
    (c("moderate", "Moderate (level 2)", "中等（2级）"), 2),
    (c("serious", "Serious (level 3)", "严重（3级）"), 3),
    (
        c(
            "very_serious",
            "Very serious or fatal (level 4)",
            "非常严重或致死（4级）",
        ),
        4,
    ),
];

/// Product categories (close to the EU Safety Gate categories).
pub const PRODUCT_CATEGORIES: &[Code] = &[
    c(
        "childcare",
        "Childcare articles and children's equipment",
        "儿童护理用品",
    ),
    c("chemical_products", "Chemical products", "化学产品"),
    c(
        "clothing_textiles",
        "Clothing, textiles and fashion items",
        "服装纺织品",
    ),
    c("construction_products", "Construction products", "建筑产品"),
    c("cosmetics", "Cosmetics", "化妆品"),
    c(
        "electrical_appliances",
        "Electrical appliances and equipment",
        "电器",
    ),
    c("food", "Food", "食品"),
    c("food_contact", "Food-contact materials", "食品接触材料"),
    c("furniture", "Furniture", "家具"),
    c("gas_appliances", "Gas appliances", "燃气器具"),
    c("hand_tools", "Hand tools", "手动工具"),
    c("jewellery", "Jewellery", "珠宝首饰"),
    c("kitchen", "Kitchen and cooking accessories", "厨房用品"),
    c("lighting", "Lighting equipment", "照明设备"),
    c("machinery", "Machinery", "机械"),
    c("motor_vehicles", "Motor vehicles", "机动车"),
    c("bicycles", "Bicycles and e-bikes", "自行车和电动自行车"),
    c("protective_equipment", "Protective equipment", "防护用品"),
    c("pyrotechnics", "Pyrotechnic articles", "烟花爆竹"),
    c(
        "sports_leisure",
        "Sports and leisure equipment",
        "运动休闲用品",
    ),
    c("stationery", "Stationery", "文具"),
    c("toys", "Toys", "玩具"),
    c("other", "Other", "其他"),
];

/// Patient age groups (years).
pub const AGE_GROUPS: &[Code] = &[
    c("0-3", "0 to 3 years", "0-3岁"),
    c("4-6", "4 to 6 years", "4-6岁"),
    c("7-14", "7 to 14 years", "7-14岁"),
    c("15-24", "15 to 24 years", "15-24岁"),
    c("25-44", "25 to 44 years", "25-44岁"),
    c("45-64", "45 to 64 years", "45-64岁"),
    c("65+", "65 years and older", "65岁及以上"),
    c("unknown", "Unknown", "不详"),
];

/// Places of injury.
pub const PLACES: &[Code] = &[
    c("home", "Home", "家中"),
    c("school", "School, kindergarten", "学校、幼儿园"),
    c("sports", "Sports or play area", "运动或游乐场所"),
    c("road", "Road, street", "道路"),
    c("public", "Public building or space", "公共场所"),
    c("commercial", "Shop, restaurant, service area", "商业场所"),
    c("workplace", "Workplace", "工作场所"),
    c("other", "Other", "其他"),
];

/// Issues of consumer complaints.
pub const COMPLAINT_ISSUES: &[Code] = &[
    c("quality_defect", "Quality defect", "质量缺陷"),
    c("safety_hazard", "Safety hazard", "安全隐患"),
    c("labelling", "Labelling, instructions", "标签标识、说明书"),
    c(
        "false_advertising",
        "False or misleading claims",
        "虚假宣传",
    ),
    c("counterfeit", "Counterfeit", "假冒伪劣"),
    c("after_sales", "After-sales service", "售后服务"),
    c("other", "Other", "其他"),
];

/// Remedies a complainant may ask for.
pub const REMEDIES: &[Code] = &[
    c("refund", "Refund", "退款"),
    c("replacement", "Replacement", "换货"),
    c("repair", "Repair", "维修"),
    c("compensation", "Compensation", "赔偿"),
    c("apology", "Apology or explanation", "道歉或说明"),
    c("other", "Other", "其他"),
];

/// The vocabularies by field name: (field, description, codes).
pub fn lists() -> Vec<(&'static str, &'static str, Vec<&'static Code>)> {
    vec![
        (
            "hazard",
            "hazard type or injury mechanism",
            HAZARDS.iter().collect(),
        ),
        (
            "injury_type",
            "nature of injury",
            INJURY_TYPES.iter().collect(),
        ),
        (
            "body_part",
            "injured body part",
            BODY_PARTS.iter().collect(),
        ),
        (
            "severity",
            "severity of the injury",
            SEVERITIES.iter().map(|(c, _)| c).collect(),
        ),
        (
            "category",
            "product category",
            PRODUCT_CATEGORIES.iter().collect(),
        ),
        (
            "age_group",
            "patient age group",
            AGE_GROUPS.iter().collect(),
        ),
        ("place", "place of injury", PLACES.iter().collect()),
        (
            "issue",
            "issue of a complaint",
            COMPLAINT_ISSUES.iter().collect(),
        ),
        (
            "desired_remedy",
            "remedy the complainant asks for",
            REMEDIES.iter().collect(),
        ),
    ]
}

/// The codes of a field's vocabulary.
pub fn codes(field: &str) -> Vec<&'static str> {
    lists()
        .into_iter()
        .find(|(f, _, _)| *f == field)
        .map(|(_, _, l)| l.iter().map(|c| c.code).collect())
        .unwrap_or_default()
}

/// The EU severity level (1-4) of a severity code.
pub fn severity_level(code: &str) -> Option<u8> {
    SEVERITIES
        .iter()
        .find(|(c, _)| c.code == code)
        .map(|(_, l)| *l)
}

/// The whole vocabulary as JSON (`GET /api/vocabulary`).
pub fn json() -> Value {
    let mut out = serde_json::Map::new();
    for (field, description, list) in lists() {
        let codes: Vec<Value> = list
            .iter()
            .map(|c| {
                let mut v = json!({ "code": c.code, "en": c.en, "zh": c.zh });
                if field == "severity" {
                    v["level"] = json!(severity_level(c.code));
                }
                v
            })
            .collect();
        out.insert(
            field.to_string(),
            json!({ "description": description, "codes": codes }),
        );
    }
    json!({ "version": 1, "fields": out })
}
