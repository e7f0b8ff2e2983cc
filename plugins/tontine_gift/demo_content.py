"""The people and dreams of the demo: faces, names, towns and stories (data only).

Each dream says which state it should reach and how much it should have raised (as a share
of its goal); ``tontine_gift.demo`` turns this into real rows through the services.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DOMAIN = "demo.example.org"


@dataclass(frozen=True)
class Person:
    key: str
    name: str
    town: str
    country: str

    @property
    def email(self) -> str:
        return f"{self.key}@{DOMAIN}"


SUPPORTERS = [
    Person("elise.bernard", "Élise Bernard", "Paris", "FR"),
    Person("thomas.petit", "Thomas Petit", "Lille", "FR"),
    Person("sofia.rossi", "Sofia Rossi", "Torino", "IT"),
    Person("kofi.mensah", "Kofi Mensah", "Accra", "GH"),
    Person("lena.schmidt", "Lena Schmidt", "Berlin", "DE"),
    Person("hugo.lefevre", "Hugo Lefèvre", "Rennes", "FR"),
    Person("amina.traore", "Amina Traoré", "Bamako", "ML"),
    Person("paul.girard", "Paul Girard", "Bordeaux", "FR"),
    Person("chloe.dubois", "Chloé Dubois", "Montréal", "CA"),
    Person("yuki.tanaka", "Yuki Tanaka", "Osaka", "JP"),
    Person("mateo.garcia", "Mateo García", "Sevilla", "ES"),
    Person("sarah.cohen", "Sarah Cohen", "Strasbourg", "FR"),
    Person("olivier.roux", "Olivier Roux", "Toulouse", "FR"),
    Person("fatou.sow", "Fatou Sow", "Dakar", "SN"),
    Person("jonas.weber", "Jonas Weber", "Genève", "CH"),
    Person("ines.carvalho", "Inês Carvalho", "Lisboa", "PT"),
]


@dataclass(frozen=True)
class Dream:
    owner: Person
    title: str
    summary: str
    story: str
    category: str
    goal: int  # whole euros
    state: str
    raised_share: float = 0.0  # of the goal, before closing
    days: int = 30
    terms: dict[str, Any] = field(default_factory=dict)
    tiers: list[dict[str, Any]] = field(default_factory=list)
    #: Tier titles to sell out completely (quantity claimed in full).
    sold_out: tuple[str, ...] = ()
    updates: list[tuple[str, str, int]] = field(default_factory=list)  # title, body, days ago
    comments: list[tuple[int, str, int]] = field(
        default_factory=list
    )  # supporter index, body, days ago
    person_name: str | None = None  # the face, when not the account holder
    colours: tuple[str, str] = ("#f97316", "#7c3aed")
    fulfilled_share: float = 0.0  # of the paid claims marked sent (funded dreams)
    balance_refunds: bool = False


DREAMS = [
    Dream(
        owner=Person("awa.diop", "Awa Diop", "Lyon", "FR"),
        title="Un four à pain pour la Croix-Rousse",
        summary="Un fournil au bois, ouvert sur la rue, où le quartier vient pétrir avec moi.",
        story=(
            "Je m'appelle Awa, j'ai 34 ans et je fais du pain depuis dix ans. D'abord chez un "
            "boulanger de Dakar, où j'ai appris le geste avec mon oncle, puis à Lyon, la nuit, "
            "dans des fournils industriels où l'on ne connaît jamais les gens qui mangent notre "
            "pain.\n\n"
            "Mon rêve est simple : un four à bois dans une ancienne boutique de la montée de la "
            "Grande-Côte, ouvert sur la rue. Le matin, le pain ; l'après-midi, des ateliers pour "
            "les enfants du quartier et pour les voisins qui veulent apprendre.\n\n"
            "Le local est trouvé, le bail est prêt. Il me manque le four lui-même, un four à sole "
            "en briques réfractaires, et son installation. Chaque euro compte, et chaque personne "
            "qui passe la porte aussi."
        ),
        category="food",
        goal=8000,
        state="open",
        raised_share=0.86,
        days=21,
        terms={
            "mode": "all_or_nothing",
            "min_gift": "5",
            "stretch_goals": "10000 | Des ateliers pain dans trois écoles\n12000 | Un triporteur pour livrer les anciens",
        },
        tiers=[
            {
                "title": "Une carte postale du fournil",
                "min_amount": "10",
                "description": "Dessinée par les enfants du premier atelier.",
            },
            {
                "title": "Une miche par semaine pendant un mois",
                "min_amount": "40",
                "quantity": 40,
                "description": "À retirer au fournil, montée de la Grande-Côte.",
            },
            {
                "title": "Un atelier pétrissage",
                "min_amount": "80",
                "quantity": 12,
                "description": "Trois heures les mains dans la farine, un samedi matin.",
            },
            {"title": "Votre nom gravé sur le four", "min_amount": "250", "quantity": 10},
        ],
        updates=[
            (
                "Le bail est signé !",
                (
                    "Nous avons signé hier avec la propriétaire. Les travaux "
                    "d'électricité commencent lundi.\n\nMerci à toutes celles et ceux qui ont déjà donné."
                ),
                9,
            ),
            (
                "Visite du fumiste",
                (
                    "Le fumiste est passé : le conduit existant peut servir. Une "
                    "bonne nouvelle et 600 € d'économie."
                ),
                3,
            ),
        ],
        comments=[
            (0, "J'habite à deux rues, j'ai hâte de sentir l'odeur du pain le matin !", 8),
            (5, "Bravo Awa. Je réserve ma place pour l'atelier pétrissage.", 5),
            (11, "Quel beau projet pour le quartier.", 2),
        ],
        colours=("#f59e0b", "#b91c1c"),
    ),
    Dream(
        owner=Person("joseph.otieno", "Joseph Otieno", "Nairobi", "KE"),
        title="Instruments for the Kibera Youth Choir",
        summary="Forty teenagers sing every Saturday. Give them drums, a keyboard and a place to rehearse.",
        story=(
            "Every Saturday, forty teenagers from Kibera meet in a church hall to sing. We started "
            "with six of us in 2019; today there is a waiting list.\n\n"
            "We sing a cappella because we have no instruments. Our dream is a keyboard, three "
            "traditional drums (nyatiti and ohangla), a small sound system and the rent of the "
            "hall for a year, so that rehearsals never depend on whether the room is free.\n\n"
            "Music keeps these kids together and out of trouble. Some of them now teach the "
            "younger ones. Help us give them the sound they deserve."
        ),
        category="music",
        goal=5000,
        state="open",
        raised_share=0.55,
        days=34,
        terms={"mode": "all_or_nothing", "min_gift": "3"},
        tiers=[
            {"title": "A thank-you video from the choir", "min_amount": "15"},
            {"title": "Your name in the concert programme", "min_amount": "50", "quantity": 100},
            {
                "title": "A private song over video call",
                "min_amount": "150",
                "quantity": 2,
                "description": "The choir sings a song of your choice, live, for someone you love.",
            },
        ],
        sold_out=("A private song over video call",),
        updates=[
            (
                "Rehearsal recording",
                (
                    "We recorded last Saturday's rehearsal: the new "
                    "arrangement of 'Malaika' is ready. Listen when we have the sound system!"
                ),
                4,
            )
        ],
        comments=[
            (3, "I sang in a choir in Accra as a kid. This means a lot. Asante sana!", 6),
            (8, "The private song was for my mother's birthday. She cried. Thank you!", 1),
        ],
        colours=("#0ea5e9", "#9333ea"),
    ),
    Dream(
        owner=Person("claire.lemaire", "Claire Lemaire", "Château-Chinon", "FR"),
        title="Une roulotte-bibliothèque pour les villages du Morvan",
        summary="Des livres, un poêle et un cheval de trait : la bibliothèque vient à vous.",
        story=(
            "Dans le Morvan, la bibliothèque la plus proche est parfois à quarante minutes de "
            "route. Pour les enfants comme pour les anciens, c'est souvent trop loin.\n\n"
            "Avec Pompon, mon cheval de trait, je veux faire le tour de douze villages, un jour "
            "par semaine chacun, avec une roulotte aménagée : trois mille livres, un coin lecture "
            "chauffé par un petit poêle, et des lectures à voix haute le mercredi.\n\n"
            "La roulotte existe déjà, elle dort dans une grange à Planchez. Il faut la remettre en "
            "état, l'isoler et y construire les étagères."
        ),
        category="education",
        goal=6000,
        state="funded",
        raised_share=1.0,
        days=30,
        terms={"mode": "all_or_nothing", "min_gift": "5"},
        tiers=[
            {"title": "Un marque-page brodé", "min_amount": "10"},
            {
                "title": "Une lecture à voix haute dans votre village",
                "min_amount": "120",
                "quantity": 6,
            },
            {"title": "Un tour en roulotte avec Pompon", "min_amount": "60", "quantity": 20},
        ],
        updates=[
            (
                "Objectif atteint !",
                (
                    "Six mille euros : la roulotte va revivre. Merci, merci, merci.\n\n"
                    "Les marque-pages partent cette semaine."
                ),
                2,
            ),
            (
                "Les étagères sont montées",
                "Le menuisier de Lormes a fini les étagères en chêne.",
                1,
            ),
        ],
        comments=[
            (6, "Mes grands-parents habitent à Arleuf, ils vont être ravis.", 12),
            (1, "Quelle idée magnifique.", 10),
        ],
        colours=("#16a34a", "#ca8a04"),
        fulfilled_share=0.6,
    ),
    Dream(
        owner=Person("mariam.ouedraogo", "Mariam Ouédraogo", "Bobo-Dioulasso", "BF"),
        title="A solar dryer for mango growers in Bobo-Dioulasso",
        summary="Half of our mangoes rot before they reach the market. The sun can save them.",
        story=(
            "Our cooperative gathers 28 women who grow mangoes around Bobo-Dioulasso. Each "
            "season, almost half of the harvest rots before it can be sold.\n\n"
            "A solar dryer turns fresh mangoes into dried fruit that keeps for a year and sells "
            "three times the price. We have the land and the hands; we need the dryer, the trays "
            "and the training.\n\n"
            "Nous écrivons aussi en français : chaque don, même petit, nous rapproche du séchoir. "
            "Merci de votre confiance."
        ),
        category="environment",
        goal=4500,
        state="completed",
        raised_share=0.78,
        days=40,
        terms={"mode": "keep_it_all", "min_gift": "2"},
        tiers=[
            {"title": "A bag of dried mango", "min_amount": "25", "quantity": 60},
            {"title": "A photo of the dryer with your name", "min_amount": "10"},
        ],
        updates=[
            (
                "The dryer is built",
                (
                    "With what you gave we built a smaller dryer than planned, but "
                    "it works: 80 kg of fresh mango per batch."
                ),
                20,
            ),
            (
                "First harvest dried",
                "The first 300 kg are dried and packed. Your bags are on their way.",
                6,
            ),
        ],
        comments=[
            (13, "Bravo les femmes de la coopérative !", 25),
            (2, "Can't wait to taste them.", 7),
        ],
        colours=("#facc15", "#ea580c"),
        fulfilled_share=1.0,
    ),
    Dream(
        owner=Person("theo.martin", "Théo Martin", "Marseille", "FR"),
        title="De Marseille à Dakar à vélo pour l'eau potable",
        summary="5 000 km à vélo pour financer trois puits dans la région de Kolda.",
        story=(
            "En septembre, je voulais partir de Marseille à vélo pour rejoindre Dakar : 5 000 km, "
            "deux mois de route, et à l'arrivée trois puits creusés avec l'association Kolda Eau.\n\n"
            "La collecte était en « tout ou rien » : si l'objectif n'était pas atteint, chacun "
            "serait remboursé. Nous n'y sommes pas arrivés cette fois-ci.\n\n"
            "Merci à celles et ceux qui y ont cru. Je reviendrai avec un projet plus modeste."
        ),
        category="sport",
        goal=9000,
        state="failed",
        raised_share=0.31,
        days=30,
        terms={"mode": "all_or_nothing", "min_gift": "5"},
        tiers=[
            {
                "title": "Une carte postale de chaque pays traversé",
                "min_amount": "30",
                "quantity": 50,
            }
        ],
        updates=[
            (
                "Merci quand même",
                (
                    "L'objectif n'est pas atteint : tout le monde est remboursé "
                    "automatiquement. Je prépare la suite."
                ),
                1,
            )
        ],
        comments=[(7, "Dommage ! Je redonnerai au prochain projet.", 1)],
        colours=("#06b6d4", "#1e3a8a"),
        balance_refunds=True,
    ),
    Dream(
        owner=Person("nadia.benali", "Nadia Benali", "Roubaix", "FR"),
        title="Un potager sur le toit de l'école Jean-Jaurès",
        summary="Des bacs, de la terre et des graines pour que 300 élèves voient pousser ce qu'ils mangent.",
        story=(
            "Je suis institutrice à l'école Jean-Jaurès de Roubaix. Sur le toit plat de la "
            "cantine, il y a 400 m² de gravier qui ne servent à rien.\n\n"
            "Avec les parents d'élèves, nous voulons y installer des bacs de culture, un "
            "récupérateur d'eau de pluie et une petite serre. Les tomates et les radis iront "
            "directement à la cantine.\n\n"
            "La mairie a donné son accord et l'étanchéité a été vérifiée. Il nous manque le "
            "matériel."
        ),
        category="community",
        goal=3500,
        state="open",
        raised_share=0.22,
        days=45,
        terms={"mode": "keep_it_all", "min_gift": "2"},
        tiers=[
            {"title": "Un dessin des élèves", "min_amount": "5"},
            {"title": "Un panier de légumes du toit", "min_amount": "35", "quantity": 25},
        ],
        comments=[(9, "My daughter's school in Osaka has one. The children love it!", 3)],
        colours=("#22c55e", "#0f766e"),
    ),
    Dream(
        owner=Person("haruto.sato", "Haruto Sato", "Kyoto", "JP"),
        title="Reopen my grandmother's tea house in Kyoto",
        summary="Oba-chan served tea on Shirakawa canal for 52 years. I want to open her door again.",
        story=(
            "My grandmother ran a small tea house on the Shirakawa canal for 52 years. When she "
            "passed away in 2022, the house closed and the tatami started to rot.\n\n"
            "I trained as a tea master in Uji for three years. I want to restore the house, keep "
            "her recipes for wagashi, and open it as a place where travellers and neighbours sit "
            "together.\n\n"
            "The carpenter's estimate covers the floors, the roof and the kitchen."
        ),
        category="food",
        goal=12000,
        state="in_review",
        days=40,
        terms={"mode": "all_or_nothing", "min_gift": "10"},
        tiers=[{"title": "A bowl of matcha with me, whenever you visit", "min_amount": "30"}],
        colours=("#84cc16", "#065f46"),
    ),
    Dream(
        owner=Person("lucas.ferreira", "Lucas Ferreira", "Nantes", "FR"),
        title="Des fauteuils de sport pour le club handibasket de Nantes",
        summary="Quatre fauteuils de compétition pour que les jeunes puissent enfin jouer en match.",
        story=(
            "Le Nantes Handibasket Club accueille 22 joueuses et joueurs, de 11 à 58 ans. Nous "
            "n'avons que six fauteuils de compétition, souvent mal adaptés aux plus jeunes.\n\n"
            "Un fauteuil de basket coûte 3 000 €. Avec quatre fauteuils de plus, nous pouvons "
            "inscrire une équipe jeunes au championnat régional.\n\n"
            "Tout ce qui est donné au-delà de l'objectif servira à la formation des entraîneurs "
            "et aux déplacements."
        ),
        category="sport",
        goal=12000,
        state="open",
        raised_share=1.12,
        days=10,
        terms={
            "mode": "keep_it_all",
            "min_gift": "5",
            "stretch_goals": "13000 | Un stage d'été pour les jeunes\n15000 | Un cinquième fauteuil",
        },
        tiers=[
            {"title": "Un maillot dédicacé", "min_amount": "40", "quantity": 60},
            {"title": "Une initiation en fauteuil", "min_amount": "25"},
        ],
        updates=[
            (
                "Objectif dépassé !",
                (
                    "Douze mille euros en trois semaines. Merci ! Le premier "
                    "palier est en vue : un stage d'été pour les jeunes."
                ),
                2,
            )
        ],
        comments=[(4, "Super Projekt, viel Erfolg!", 4), (10, "¡Ánimo equipo!", 2)],
        colours=("#ef4444", "#1d4ed8"),
    ),
    Dream(
        owner=Person("camila.rojas", "Camila Rojas", "Valparaíso", "CL"),
        title="A recording studio in a shipping container",
        summary="A free studio on Cerro Alegre for the young musicians of Valparaíso.",
        story=(
            "Valparaíso is full of musicians and empty of studios. A day of recording costs more "
            "than most young bands earn in a month.\n\n"
            "I found a used shipping container and a spot on Cerro Alegre. Insulated, wired and "
            "fitted with second-hand gear, it can be a free studio run by the bands themselves.\n\n"
            "I am still writing the budget with two sound engineers before I submit this dream."
        ),
        category="music",
        goal=7000,
        state="draft",
        terms={"mode": "all_or_nothing"},
        colours=("#a855f7", "#db2777"),
    ),
    Dream(
        owner=Person("jean-pierre.vidal", "Jean-Pierre Vidal", "Lagrasse", "FR"),
        title="Sauver les fresques de la chapelle Saint-Roch",
        summary="Des fresques du XVe siècle s'effacent sous l'humidité. Une restauratrice peut les sauver.",
        story=(
            "La chapelle Saint-Roch, à la sortie de Lagrasse, abrite des fresques du XVe siècle : "
            "un saint Roch, son chien, et une procession de villageois que personne n'a jamais "
            "identifiés.\n\n"
            "L'humidité les efface un peu plus chaque hiver. Une restauratrice diplômée de l'INP "
            "a fait un diagnostic : il faut d'abord assécher les murs, puis consolider l'enduit.\n\n"
            "Notre association de 40 habitants porte le projet. La commune a voté une aide, il "
            "nous manque la moitié."
        ),
        category="art",
        goal=15000,
        state="open",
        raised_share=0.48,
        days=28,
        terms={"mode": "all_or_nothing", "min_gift": "5"},
        tiers=[
            {"title": "Une visite commentée de la chapelle", "min_amount": "20"},
            {
                "title": "Un tirage photo des fresques restaurées",
                "min_amount": "60",
                "quantity": 80,
            },
            {"title": "Assister à une journée de restauration", "min_amount": "200", "quantity": 8},
        ],
        updates=[
            (
                "Le diagnostic",
                (
                    "Le rapport de la restauratrice est en ligne à la mairie. "
                    "Bonne nouvelle : le chien de saint Roch est presque intact."
                ),
                11,
            )
        ],
        comments=[
            (2, "Che bella cappella! Ci sono stata l'anno scorso.", 9),
            (7, "Mon grand-père était de Lagrasse. Merci pour ce travail.", 3),
        ],
        colours=("#d97706", "#7f1d1d"),
    ),
    Dream(
        owner=Person("fatima.elamrani", "Fatima Zahra El Amrani", "Tanger", "MA"),
        title="Une école de couture pour les femmes de Tanger",
        summary="Douze machines, une formatrice et un an de loyer pour apprendre un métier.",
        story=(
            "Dans mon quartier de Beni Makada, beaucoup de femmes cousent à la maison pour des "
            "ateliers qui les paient à la pièce, très peu.\n\n"
            "I want to open a small sewing school: twelve machines, a trainer, and a year of "
            "rent. In nine months, a woman learns pattern-making and can sell her own clothes "
            "or join a cooperative.\n\n"
            "Nous avons déjà 35 inscrites pour la première année."
        ),
        category="education",
        goal=7500,
        state="funded",
        raised_share=1.0,
        days=30,
        terms={"mode": "all_or_nothing", "min_gift": "5"},
        tiers=[
            {"title": "Un foulard cousu à l'école", "min_amount": "45", "quantity": 30},
            {"title": "Une lettre d'une élève", "min_amount": "15"},
        ],
        updates=[
            (
                "Les machines sont arrivées",
                (
                    "Douze machines Singer, révisées, installées "
                    "dans le local de la rue Moulay Ismail."
                ),
                3,
            )
        ],
        comments=[(13, "Inspirant. Bon courage à toutes !", 5)],
        colours=("#ec4899", "#f97316"),
        fulfilled_share=0.3,
    ),
    Dream(
        owner=Person("ines.moreau", "Inès Moreau", "Grenoble", "FR"),
        title="Un atelier vélo solidaire à la Villeneuve",
        summary="Réparer son vélo soi-même, avec des outils et des conseils, à prix libre.",
        story=(
            "À la Villeneuve de Grenoble, beaucoup de vélos dorment dans les caves faute d'une "
            "chambre à air ou d'un dérailleur réglé.\n\n"
            "Avec trois bénévoles mécaniciens, je veux ouvrir un atelier d'autoréparation au pied "
            "des immeubles : des outils, des pièces d'occasion, et quelqu'un pour montrer.\n\n"
            "Le bailleur nous prête un local. Il faut l'équiper : établis, pieds d'atelier, "
            "outillage et un premier stock de pièces."
        ),
        category="community",
        goal=4000,
        state="open",
        raised_share=0.95,
        days=6,
        terms={"mode": "all_or_nothing", "min_gift": "2"},
        tiers=[
            {"title": "Une révision complète de votre vélo", "min_amount": "30", "quantity": 40},
            {"title": "Un autocollant de l'atelier", "min_amount": "5"},
        ],
        person_name="Inès Moreau et l'équipe de la Clé à Molette",
        comments=[(1, "Enfin ! Mon vélo attend depuis deux ans dans la cave.", 4)],
        colours=("#14b8a6", "#4338ca"),
    ),
]
